"""Registered Python functions, overloads, method-call style, function pointers and closures."""

import gc
import typing

import pytest
import rhai


def test_register_and_call():
    engine = rhai.Engine()
    engine.register_fn("add", lambda a, b: a + b)
    assert engine.eval("add(2, 3)") == 5
    assert engine.eval('add("a", "b")') == "ab"


def test_zero_arity():
    engine = rhai.Engine()
    engine.register_fn("answer", lambda: 42)
    assert engine.eval("answer() + 1") == 43


def test_method_call_style():
    engine = rhai.Engine()
    engine.register_fn("add", lambda a, b: a + b)
    engine.register_fn("shout", lambda s: s.upper() + "!")
    assert engine.eval("2.add(3)") == 5
    assert engine.eval("let x = 10; x.add(5)") == 15
    assert engine.eval('"hey".shout()') == "HEY!"
    assert engine.eval('let s = "a"; s.shout().shout()') == "A!!"


def test_defaults_register_one_overload_per_arity():
    def greet(name, greeting="hello", punct="."):
        return f"{greeting} {name}{punct}"

    engine = rhai.Engine()
    engine.register_fn("greet", greet)
    assert engine.eval('greet("bob")') == "hello bob."
    assert engine.eval('greet("bob", "hi")') == "hi bob."
    assert engine.eval('greet("bob", "hi", "!")') == "hi bob!"
    assert engine.eval('"ann".greet("yo")') == "yo ann."
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("greet()")
    assert info.value.kind == "ErrorFunctionNotFound"


def test_other_arity_adds_an_overload():
    engine = rhai.Engine()
    engine.register_fn("f", lambda a: f"one {a}")
    engine.register_fn("f", lambda a, b: f"two {a} {b}")
    assert engine.eval("f(1)") == "one 1"
    assert engine.eval("f(1, 2)") == "two 1 2"


def test_same_arity_replaces():
    engine = rhai.Engine()
    engine.register_fn("g", lambda a: "old")
    engine.register_fn("g", lambda a: "new")
    assert engine.eval("g(0)") == "new"


def star_args(*values):
    return values


def needs_keyword(a, *, b):
    return a + b


@pytest.mark.parametrize(("func", "reason"), [(star_args, "no fixed arity"), (needs_keyword, "keyword 'b'")])
def test_functions_without_positional_arity_are_refused(func, reason):
    engine = rhai.Engine()
    with pytest.raises(TypeError, match=reason):
        engine.register_fn("f", func)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("f(1)")
    assert info.value.kind == "ErrorFunctionNotFound"


def test_registering_from_inside_a_running_script_is_refused():
    engine = rhai.Engine()
    engine.register_fn("sneak", lambda: engine.register_fn("other", lambda: 1))
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("sneak()")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_wrong_arity_is_function_not_found():
    engine = rhai.Engine()
    engine.register_fn("one", lambda a: a)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("one(1, 2)")
    assert info.value.kind == "ErrorFunctionNotFound"
    assert "one" in info.value.message


@pytest.mark.parametrize(
    ("script", "py_type"),
    [
        ("describe(1)", "int"),
        ("describe(1.0)", "float"),
        ("describe(true)", "bool"),
        ("describe(())", "NoneType"),
        ('describe("s")', "str"),
        ("describe('c')", "str"),
        ("describe([1])", "list"),
        ("describe(#{a: 1})", "dict"),
        ("describe(blob(1))", "bytes"),
        ("describe(1..2)", "range"),
        ("describe(timestamp())", "Timestamp"),
        ("describe(|x| x)", "FnPtr"),
    ],
)
def test_arguments_are_converted(script, py_type):
    engine = rhai.Engine()
    engine.register_fn("describe", lambda x: type(x).__name__)
    assert engine.eval(script) == py_type


@pytest.mark.parametrize(
    ("returned", "rhai_type"),
    [
        (None, "()"),
        (True, "bool"),
        (3, "i64"),
        (3.5, "f64"),
        ("s", "string"),
        ([1, 2], "array"),
        ((1, 2), "array"),
        ({"k": 1}, "map"),
        (b"x", "blob"),
        (bytearray(b"x"), "blob"),
    ],
)
def test_return_values_are_converted(returned, rhai_type):
    engine = rhai.Engine()
    engine.register_fn("give", lambda: returned)
    assert engine.eval("type_of(give())") == rhai_type


def test_returned_containers_are_usable():
    engine = rhai.Engine()
    engine.register_fn("data", lambda: {"items": (1, 2, 3), "name": "n"})
    assert engine.eval("let d = data(); d.items.len() + d.items[2] + d.name.len()") == 7


def test_registered_function_as_fn_ptr():
    engine = rhai.Engine()
    engine.register_fn("add", lambda a, b: a + b)
    assert engine.eval('Fn("add").call(40, 2)') == 42
    assert engine.eval('let f = Fn("add"); call(f, 1, 2)') == 3


def test_fn_ptr_to_script_function():
    fp = rhai.Engine().eval('fn dbl(x) { x * 2 } Fn("dbl")')
    assert isinstance(fp, rhai.FnPtr)
    assert fp.name == "dbl"
    assert fp(21) == 42
    assert fp(fp(1)) == 4


def test_fn_ptr_converts_arguments_and_result():
    fp = rhai.Engine().eval("|m| [m.a, m.b.len()]")
    assert fp({"a": 1.5, "b": [1, 2, 3]}) == [1.5, 3]


def test_closure_keeps_captured_values():
    fp = rhai.Engine().eval("let y = 10; let z = 5; |x| x + y * z")
    assert isinstance(fp, rhai.FnPtr)
    assert isinstance(fp.name, str)
    assert fp.name
    assert fp(1) == 51


def test_closure_captured_state_persists_across_calls():
    inc = rhai.Engine().eval("let n = 0; || { n += 1; n }")
    assert [inc(), inc(), inc()] == [1, 2, 3]


def test_curried_arguments():
    fp = rhai.Engine().eval('fn add3(a, b, c) { a * 100 + b * 10 + c } Fn("add3").curry(1).curry(2)')
    assert fp(3) == 123


def test_fn_ptr_wrong_arity_is_eval_error():
    fp = rhai.Engine().eval("|a, b| a + b")
    with pytest.raises(rhai.EvalError):
        fp(1)


def test_fn_ptr_keeps_engine_and_script_alive():
    def make():
        engine = rhai.Engine()
        engine.register_fn("triple", lambda x: x * 3)
        return engine.eval("fn helper(x) { triple(x) + 1 } let k = 2; |x| helper(x) * k")

    fp = make()
    gc.collect()
    assert fp(2) == 14


def test_fn_ptr_uses_engine_limits():
    fp = rhai.Engine(max_operations=500).eval("|| { loop {} }")
    with pytest.raises(rhai.EvalError) as info:
        fp()
    assert info.value.kind == "ErrorTooManyOperations"


@pytest.fixture
def apply_ast():
    engine = rhai.Engine()
    ast = engine.compile(
        """
        fn apply(f, x) { f.call(x) }
        fn apply_kw(f, x) { call(f, x) }
        fn apply_two(f) { f.call(1, 2) }
        fn twice(f, x) { f.call(f.call(x)) }
        """
    )
    return engine, ast


def test_python_callable_called_by_script(apply_ast):
    engine, ast = apply_ast
    assert engine.call_fn(ast, "apply", lambda x: x * 2, 21) == 42
    assert engine.call_fn(ast, "apply_kw", lambda x: x + "!", "hi") == "hi!"
    assert engine.call_fn(ast, "apply_two", lambda a, b: [a, b]) == [1, 2]
    assert engine.call_fn(ast, "twice", str.upper, "ab") == "AB"
    assert engine.call_fn(ast, "apply", len, [1, 2, 3]) == 3


def test_fn_ptr_goes_back_into_a_script(apply_ast):
    engine, ast = apply_ast
    fp = engine.eval("let k = 3; |x| x * k")
    assert engine.call_fn(ast, "apply", fp, 5) == 15


def test_registered_function_receives_callable_fn_ptr():
    engine = rhai.Engine()
    engine.register_fn("py_map", lambda xs, f: [f(x) for x in xs])
    assert engine.eval("let k = 10; py_map([1, 2, 3], |x| x + k)") == [11, 12, 13]
    assert engine.eval('fn sq(x) { x * x } py_map([2, 3], Fn("sq"))') == [4, 9]


def test_registered_function_called_from_script_function_and_closure():
    engine = rhai.Engine()
    engine.register_fn("twice", lambda x: x * 2)
    assert engine.eval("fn f(x) { twice(x) + 1 } let g = |x| f(x).twice(); g.call(3)") == 14


def test_annotated_parameters_select_by_rhai_type():
    engine = rhai.Engine()

    def describe_int(x: int) -> str:
        return f"int {x}"

    def describe_str(x: str) -> str:
        return f"str {x}"

    def describe_pair(x: list[int], y: dict) -> str:
        return f"pair {len(x)} {sorted(y)}"

    engine.register_fn("describe", describe_int)
    engine.register_fn("describe", describe_str)
    engine.register_fn("describe", describe_pair)
    assert engine.eval("describe(4)") == "int 4"
    assert engine.eval('describe("a")') == "str a"
    assert engine.eval("describe([1, 2], #{b: 1, a: 2})") == "pair 2 ['a', 'b']"
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("describe(1.5)")
    assert info.value.kind == "ErrorFunctionNotFound"
    assert "describe (f64)" in info.value.message


def test_annotations_tell_closures_from_values():
    engine = rhai.Engine()
    engine.register_fn("check", lambda value, code: value == code)

    def check_with(value: int, predicate: rhai.FnPtr) -> bool:
        return predicate(value)

    def check_code(value: int, code: int) -> bool:
        return value == code

    engine.register_fn("check", check_with)
    engine.register_fn("check", check_code)
    assert engine.eval("check(204, |c| c >= 200)") is True
    assert engine.eval("check(204, 200)") is False
    assert engine.eval('check(204, "other")') is False


def test_unions_and_any_take_any_value():
    engine = rhai.Engine()

    def maybe(x: int | None, y: typing.Any) -> str:
        return f"{x!r} {y!r}"

    engine.register_fn("maybe", maybe)
    assert engine.eval('maybe((), "s")') == "None 's'"
    assert engine.eval("maybe(1, [])") == "1 []"


def test_annotation_no_rhai_value_has_is_refused():
    def takes_set(x: set) -> None:
        return None

    with pytest.raises(TypeError, match="parameter 'x' is annotated"):
        rhai.Engine().register_fn("f", takes_set)
