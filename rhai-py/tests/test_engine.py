"""Engine basics: compile, AST, eval, run, call_fn, print and debug hooks."""

import pytest
import rhai


def test_public_names():
    assert set(rhai.__all__) >= {
        "AST",
        "Engine",
        "EvalError",
        "FnInfo",
        "FnPtr",
        "ParseError",
        "RhaiError",
        "Timestamp",
    }
    for name in rhai.__all__:
        assert hasattr(rhai, name)


def test_engine_options_are_keyword_only():
    with pytest.raises(TypeError):
        rhai.Engine(1000)


def test_eval():
    assert rhai.Engine().eval("let x = 40; x + 2") == 42


def test_compile_and_eval_ast_many_times():
    engine = rhai.Engine()
    ast = engine.compile("let v = [1, 2]; v.push(3); v")
    assert isinstance(ast, rhai.AST)
    assert engine.eval_ast(ast) == [1, 2, 3]
    assert engine.eval_ast(ast) == [1, 2, 3]


def test_ast_source():
    engine = rhai.Engine()
    assert engine.compile("1").source is None
    assert engine.compile("1", name="main.rhai").source == "main.rhai"


def test_compile_file(tmp_path):
    path = tmp_path / "script.rhai"
    path.write_text("fn f(a) { a + 1 }\nf(1)\n")
    engine = rhai.Engine()
    for arg in (path, str(path)):
        ast = engine.compile_file(arg)
        assert ast.source == str(path)
        assert engine.eval_ast(ast) == 2


def test_compile_file_missing(tmp_path):
    with pytest.raises((OSError, rhai.RhaiError)):
        rhai.Engine().compile_file(tmp_path / "absent.rhai")


def test_functions():
    ast = rhai.Engine().compile(
        """
        fn alpha(x, y) { x + y }
        let unused = 1;
        fn beta() { 1 }
        fn gamma(only) { only }
        """
    )
    infos = ast.functions()
    assert all(isinstance(info, rhai.FnInfo) for info in infos)
    assert [(info.name, info.params) for info in infos] == [
        ("alpha", ["x", "y"]),
        ("beta", []),
        ("gamma", ["only"]),
    ]


def test_functions_empty():
    assert rhai.Engine().compile("1 + 1").functions() == []


def test_run_ast_returns_none_and_runs():
    engine = rhai.Engine()
    printed = []
    engine.on_print(printed.append)
    assert engine.run_ast(engine.compile('print("ran"); 42')) is None
    assert printed == ["ran"]


def test_call_fn():
    engine = rhai.Engine()
    ast = engine.compile("fn add(a, b) { a + b } fn none() { }")
    assert engine.call_fn(ast, "add", 1, 2) == 3
    assert engine.call_fn(ast, "add", [1], [2]) == [1, 2]
    assert engine.call_fn(ast, "none") is None


def test_call_fn_runs_top_level_first():
    engine = rhai.Engine()
    printed = []
    engine.on_print(printed.append)
    ast = engine.compile('print("top"); const K = 5; fn f(x) { x + global::K }')
    assert engine.call_fn(ast, "f", 1) == 6
    assert printed == ["top"]
    assert engine.call_fn(ast, "f", 2, eval_ast=True) == 7


def test_call_fn_without_eval_ast_runs_only_the_function():
    engine = rhai.Engine()
    printed = []
    engine.on_print(printed.append)
    ast = engine.compile('print("top"); const K = 5; fn g(x) { x * 2 } fn f(x) { x + global::K }')
    assert engine.call_fn(ast, "g", 4, eval_ast=False) == 8
    assert printed == []
    with pytest.raises(rhai.EvalError):
        engine.call_fn(ast, "f", 1, eval_ast=False)


def test_call_fn_missing_function():
    engine = rhai.Engine()
    ast = engine.compile("fn f(x) { x }")
    with pytest.raises(rhai.EvalError) as info:
        engine.call_fn(ast, "nope", 1)
    assert info.value.kind == "ErrorFunctionNotFound"
    with pytest.raises(rhai.EvalError) as info:
        engine.call_fn(ast, "f", 1, 2)
    assert info.value.kind == "ErrorFunctionNotFound"


def test_on_print():
    engine = rhai.Engine()
    printed = []
    engine.on_print(printed.append)
    engine.eval('print("hi"); print(42); print([1, 2]); 0')
    assert printed[:2] == ["hi", "42"]
    assert len(printed) == 3
    assert "1" in printed[2]
    assert "2" in printed[2]


def test_on_print_none_goes_back_to_stdout(capfd):
    engine = rhai.Engine()
    printed = []
    engine.on_print(printed.append)
    engine.on_print(None)
    engine.eval('print("to-stdout-marker")')
    assert printed == []
    assert "to-stdout-marker" in capfd.readouterr().out


def test_on_debug():
    engine = rhai.Engine()
    seen = []
    engine.on_debug(lambda text, source, line, position: seen.append((text, source, line, position)))
    engine.run_ast(engine.compile("let a = 1;\n  debug(42);", name="dbg.rhai"))
    assert seen == [("42", "dbg.rhai", 2, 3)]


def test_on_debug_without_source():
    engine = rhai.Engine()
    seen = []
    engine.on_debug(lambda *args: seen.append(args))
    engine.eval('debug("x")')
    assert len(seen) == 1
    text, source, line, position = seen[0]
    assert "x" in text
    assert source is None
    assert (line, position) == (1, 1)
