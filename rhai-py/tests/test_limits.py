"""Engine limits: operations, call levels, expression depth, data sizes, strict variables."""

import threading

import pytest
import rhai

RECURSE = "fn down(n) { if n == 0 { 0 } else { 1 + down(n - 1) } }"


def in_big_stack_thread(func):
    # Deep Rhai recursion can need more native stack than the main thread has in a debug build.
    result = {}

    def target():
        try:
            result["value"] = func()
        except BaseException as exc:
            result["error"] = exc

    old = threading.stack_size(256 * 1024 * 1024)
    try:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
    finally:
        threading.stack_size(old)
    thread.join(30)
    assert not thread.is_alive()
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_max_operations_stops_infinite_loop():
    engine = rhai.Engine(max_operations=10_000)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("loop {}")
    assert info.value.kind == "ErrorTooManyOperations"
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("let x = 0; while true { x += 1; }")
    assert info.value.kind == "ErrorTooManyOperations"


def test_max_operations_allows_small_scripts():
    engine = rhai.Engine(max_operations=10_000)
    assert engine.eval("let s = 0; for i in 0..10 { s += i; } s") == 45


def test_max_operations_applies_to_call_fn_and_eval_ast():
    engine = rhai.Engine(max_operations=1_000)
    ast = engine.compile("fn spin() { loop {} } spin()")
    with pytest.raises(rhai.EvalError) as info:
        engine.eval_ast(ast)
    assert info.value.kind == "ErrorTooManyOperations"
    with pytest.raises(rhai.EvalError) as info:
        engine.call_fn(ast, "spin", eval_ast=False)
    assert info.value.kind == "ErrorTooManyOperations"


def test_max_operations_cannot_be_caught_by_script():
    engine = rhai.Engine(max_operations=1_000)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("try { loop {} } catch (e) { 0 }")
    assert info.value.kind == "ErrorTooManyOperations"


def test_max_call_levels():
    engine = rhai.Engine(max_call_levels=10)
    assert engine.eval(f"{RECURSE} down(5)") == 5
    with pytest.raises(rhai.EvalError) as info:
        engine.eval(f"{RECURSE} down(50)")
    assert info.value.kind == "ErrorStackOverflow"
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("fn forever(n) { forever(n + 1) } forever(0)")
    assert info.value.kind == "ErrorStackOverflow"


def test_call_levels_keep_rhai_default_guard():
    engine = rhai.Engine()
    assert engine.eval(f"{RECURSE} down(50)") == 50
    with pytest.raises(rhai.EvalError) as info:
        engine.eval(f"{RECURSE} down(100)")
    assert info.value.kind == "ErrorStackOverflow"
    raised = rhai.Engine(max_call_levels=200)
    assert in_big_stack_thread(lambda: raised.eval(f"{RECURSE} down(100)")) == 100


@pytest.mark.parametrize("limit", ["max_operations", "max_call_levels", "max_expr_depth", "max_map_size"])
def test_limits_must_be_positive(limit):
    with pytest.raises(ValueError, match=limit):
        rhai.Engine(**{limit: 0})


def nested(depth):
    return "(" * depth + "1" + ")" * depth


def test_max_expr_depth_is_a_parse_error():
    engine = rhai.Engine(max_expr_depth=10)
    assert engine.eval("(1 + 2) * 3") == 9
    with pytest.raises(rhai.ParseError) as info:
        engine.compile(nested(40))
    assert info.value.kind == "ExprTooDeep"
    with pytest.raises(rhai.ParseError) as info:
        engine.eval(nested(40))
    assert info.value.kind == "ExprTooDeep"
    with pytest.raises(rhai.ParseError) as info:
        engine.compile(f"fn f() {{ {nested(40)} }}")
    assert info.value.kind == "ExprTooDeep"


def test_expr_depth_keeps_rhai_default_guard():
    with pytest.raises(rhai.ParseError) as info:
        rhai.Engine().compile(nested(100))
    assert info.value.kind == "ExprTooDeep"
    raised = rhai.Engine(max_expr_depth=300)
    assert in_big_stack_thread(lambda: raised.eval(nested(100))) == 1
    assert in_big_stack_thread(lambda: raised.eval(f"fn f() {{ {nested(100)} }} f()")) == 1


def test_max_string_size():
    engine = rhai.Engine(max_string_size=10)
    assert engine.eval('"abcde" + "fghij"') == "abcdefghij"
    with pytest.raises(rhai.EvalError) as info:
        engine.eval('let s = ""; for i in 0..20 { s += "x"; } s')
    assert info.value.kind == "ErrorDataTooLarge"


def test_max_array_size():
    engine = rhai.Engine(max_array_size=5)
    assert engine.eval("let a = [1, 2, 3, 4]; a.push(5); a") == [1, 2, 3, 4, 5]
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("let a = []; for i in 0..10 { a.push(i); } a")
    assert info.value.kind == "ErrorDataTooLarge"


def test_max_map_size():
    engine = rhai.Engine(max_map_size=3)
    assert engine.eval("let m = #{a: 1, b: 2}; m.c = 3; m") == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("let m = #{a: 1, b: 2, c: 3}; m.d = 4; m")
    assert info.value.kind == "ErrorDataTooLarge"
    with pytest.raises(rhai.EvalError) as info:
        engine.eval('let m = #{}; for i in 0..10 { let one = #{}; one["k" + i] = i; m += one; } m')
    assert info.value.kind == "ErrorDataTooLarge"


def test_limits_apply_inside_script_functions():
    engine = rhai.Engine(max_array_size=3)
    with pytest.raises(rhai.EvalError) as info:
        engine.eval("fn grow(a) { a.push(0); a } let a = []; for i in 0..10 { a = grow(a); } a")
    assert info.value.kind == "ErrorDataTooLarge"


def test_strict_variables():
    engine = rhai.Engine(strict_variables=True)
    assert engine.eval("let a = 1; a + 1") == 2
    with pytest.raises(rhai.ParseError) as info:
        engine.compile("let a = 1;\na + b")
    err = info.value
    assert err.kind == "VariableUndefined"
    assert "b" in err.message
    assert err.line == 2


def test_variables_not_strict_by_default():
    engine = rhai.Engine()
    ast = engine.compile("a + b")
    with pytest.raises(rhai.EvalError) as info:
        engine.eval_ast(ast)
    assert info.value.kind == "ErrorVariableNotFound"
