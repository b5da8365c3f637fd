"""Error classes, their fields, and exceptions crossing between Python and Rhai in both directions."""

import pytest
import rhai


def test_hierarchy():
    assert issubclass(rhai.RhaiError, Exception)
    assert issubclass(rhai.ParseError, rhai.RhaiError)
    assert issubclass(rhai.EvalError, rhai.RhaiError)
    assert not issubclass(rhai.ParseError, rhai.EvalError)


def test_parse_error_fields():
    with pytest.raises(rhai.ParseError) as info:
        rhai.Engine().compile("let a = 1;\nlet x = (1 + 2;", name="bad.rhai")
    err = info.value
    assert err.kind == "MissingToken"
    assert err.source == "bad.rhai"
    assert err.line == 2
    assert err.position == 15
    assert err.function is None
    assert ")" in err.message
    assert "line" not in err.message
    assert str(err) == f"bad.rhai:2:15: {err.message}"


def test_parse_error_from_eval():
    with pytest.raises(rhai.ParseError) as info:
        rhai.Engine().eval("let x = ;")
    err = info.value
    assert err.source is None
    assert err.line == 1
    assert isinstance(err.position, int)
    assert err.position >= 1
    assert err.kind
    assert str(err).startswith(f"1:{err.position}: ")


RUNTIME_SCRIPT = """fn inner(x) {
    throw x;
}
fn outer(x) {
    inner(x)
}
outer("boom")
"""


def test_eval_error_fields_in_function():
    engine = rhai.Engine()
    with pytest.raises(rhai.EvalError) as info:
        engine.eval_ast(engine.compile(RUNTIME_SCRIPT, name="script.rhai"))
    err = info.value
    assert err.kind == "ErrorRuntime"
    assert err.value == "boom"
    assert err.source == "script.rhai"
    assert err.line == 2
    assert err.position == 5
    assert err.function == "inner"
    assert "boom" in err.message
    assert "line" not in err.message
    assert str(err) == f"script.rhai:2:5: {err.message} (in function 'inner')"


def test_eval_error_fields_via_call_fn():
    engine = rhai.Engine()
    ast = engine.compile(RUNTIME_SCRIPT, name="script.rhai")
    with pytest.raises(rhai.EvalError) as info:
        engine.call_fn(ast, "outer", "direct", eval_ast=False)
    err = info.value
    assert (err.value, err.function, err.line, err.position, err.source) == (
        "direct",
        "inner",
        2,
        5,
        "script.rhai",
    )


def test_eval_error_at_top_level_without_source():
    with pytest.raises(rhai.EvalError) as info:
        rhai.Engine().eval("let a = 1;\n  a + missing")
    err = info.value
    assert err.kind == "ErrorVariableNotFound"
    assert "missing" in err.message
    assert err.value is None
    assert err.source is None
    assert err.function is None
    assert (err.line, err.position) == (2, 7)
    assert str(err) == f"2:7: {err.message}"


def test_function_not_found():
    with pytest.raises(rhai.EvalError) as info:
        rhai.Engine().eval("no_such_fn(1)")
    err = info.value
    assert err.kind == "ErrorFunctionNotFound"
    assert "no_such_fn" in err.message
    assert err.value is None


@pytest.mark.parametrize(
    ("thrown", "value"),
    [
        ('"text"', "text"),
        ("42", 42),
        ("1.5", 1.5),
        ('[1, "a"]', [1, "a"]),
        ('#{code: 7, why: "x", extra: [true]}', {"code": 7, "why": "x", "extra": [True]}),
    ],
)
def test_thrown_value_is_converted(thrown, value):
    with pytest.raises(rhai.EvalError) as info:
        rhai.Engine().eval(f"throw {thrown};")
    assert info.value.kind == "ErrorRuntime"
    assert info.value.value == value
    assert type(info.value.value) is type(value)


def test_script_catches_its_own_throw():
    assert rhai.Engine().eval("let r = 0; try { throw #{a: 1}; } catch (e) { r = e.a + 1; } r") == 2


class MyError(Exception):
    pass


@pytest.mark.parametrize(
    ("exc", "caught"),
    [
        (ValueError("bad input"), "bad input"),
        (KeyError("k"), "'k'"),
        (MyError("oops"), "oops"),
        (MyError(), "MyError"),
    ],
)
def test_python_exception_is_catchable_in_script(exc, caught):
    engine = rhai.Engine()

    def fail():
        raise exc

    engine.register_fn("fail", fail)
    assert engine.eval("let r = (); try { fail(); } catch (e) { r = e; } r") == caught


def test_script_continues_after_catching_python_exception():
    engine = rhai.Engine()
    calls = []

    def flaky(x):
        calls.append(x)
        if x < 2:
            raise RuntimeError(f"try {x}")
        return x * 10

    engine.register_fn("flaky", flaky)
    script = """
        let i = 0;
        let r = 0;
        let done = false;
        while !done { try { r = flaky(i); done = true; } catch (e) { i += 1; } }
        r
    """
    assert engine.eval(script) == 20
    assert calls == [0, 1, 2]


def test_uncaught_python_exception_is_the_cause():
    engine = rhai.Engine()
    raised = []

    def fail(x):
        exc = ValueError(f"bad {x}")
        raised.append(exc)
        raise exc

    engine.register_fn("fail", fail)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("fn deeper(x) { fail(x) }\nlet a = 1;\ndeeper(a)")
    err = info.value
    assert len(raised) == 1
    assert err.__cause__ is raised[0]
    assert "bad 1" in err.message
    assert err.kind == "ErrorRuntime"


def test_python_exception_in_callable_passed_to_script():
    engine = rhai.Engine()
    ast = engine.compile("fn apply(f, x) { f.call(x) }")
    exc = LookupError("nothing here")

    def fail(x):
        raise exc

    with pytest.raises(rhai.EvalError) as info:
        engine.call_fn(ast, "apply", fail, 1)
    assert info.value.__cause__ is exc
    safe = engine.compile("fn safe(f, x) { let r = (); try { f.call(x); } catch (e) { r = e; } r }")
    assert engine.call_fn(safe, "safe", fail, 1) == "nothing here"


def test_nested_eval_error_is_the_cause():
    engine = rhai.Engine()
    inner_errors = []

    def nested():
        try:
            return engine.eval('throw "inner problem";')
        except rhai.EvalError as e:
            inner_errors.append(e)
            raise

    engine.register_fn("nested", nested)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("nested()")
    assert len(inner_errors) == 1
    assert info.value.__cause__ is inner_errors[0]
    assert info.value.__cause__.value == "inner problem"
    caught = engine.eval("let r = (); try { nested(); } catch (e) { r = e; } r")
    assert "inner problem" in caught


def test_error_raised_by_fn_ptr_call():
    fp = rhai.Engine().eval("|x| throw x * 2")
    with pytest.raises(rhai.EvalError) as info:
        fp(21)
    assert info.value.kind == "ErrorRuntime"
    assert info.value.value == 42


def test_python_exception_through_fn_ptr_called_from_python():
    engine = rhai.Engine()
    exc = ZeroDivisionError("div")

    def fail():
        raise exc

    engine.register_fn("fail", fail)
    fp = engine.eval("|| fail()")
    with pytest.raises(rhai.EvalError) as info:
        fp()
    assert info.value.__cause__ is exc
