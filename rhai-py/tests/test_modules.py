"""Module imports: the module folder, the script file's folder, caching, errors, confinement."""

import pytest
import rhai

BASE = """export const ANSWER = 42;
fn double(x) { x * 2 }
fn boom() {
    throw "bad";
}
"""


@pytest.fixture
def mods(tmp_path):
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "base.rhai").write_text(BASE)
    return folder


@pytest.mark.parametrize("as_str", [False, True])
def test_import_from_module_dir(mods, as_str):
    engine = rhai.Engine(module_dir=str(mods) if as_str else mods)
    assert engine.eval('import "base" as base; base::double(base::ANSWER)') == 84


def test_import_from_subfolder(mods):
    (mods / "sub").mkdir()
    (mods / "sub" / "helper.rhai").write_text("export const X = 7;")
    assert rhai.Engine(module_dir=mods).eval('import "sub/helper" as h; h::X') == 7


def test_module_may_import_another(mods):
    (mods / "top.rhai").write_text('import "base" as b;\nfn quad(x) { b::double(b::double(x)) }')
    assert rhai.Engine(module_dir=mods).eval('import "top" as t; t::quad(3)') == 12


def test_imports_visible_in_functions_and_call_fn(mods):
    engine = rhai.Engine(module_dir=mods)
    ast = engine.compile('import "base" as base;\nfn run(x) { base::double(x) + base::ANSWER }')
    assert engine.call_fn(ast, "run", 1) == 44


def test_compile_file_imports_from_its_folder(mods):
    main = mods / "main.rhai"
    main.write_text('import "base" as base;\nfn run(x) { base::double(x) }\nbase::ANSWER + 1\n')
    engine = rhai.Engine()
    ast = engine.compile_file(main)
    assert ast.source == str(main)
    assert engine.eval_ast(ast) == 43
    assert engine.call_fn(ast, "run", 5) == 10


def test_compile_file_uses_module_dir_when_given(tmp_path, mods):
    other = tmp_path / "other"
    other.mkdir()
    (other / "base.rhai").write_text("export const ANSWER = -1;")
    main = other / "main.rhai"
    main.write_text('import "base" as base; base::ANSWER')
    engine = rhai.Engine(module_dir=mods)
    assert engine.eval_ast(engine.compile_file(main)) == 42


def test_missing_module_names_module_and_folder(mods):
    with pytest.raises(rhai.EvalError) as info:
        rhai.Engine(module_dir=mods).eval('import "nowhere" as n; n::X')
    err = info.value
    assert "nowhere" in err.message
    assert str(mods) in err.message


@pytest.mark.parametrize("target", ["../secret", "sub/../../secret", "{abs}"])
def test_import_cannot_leave_module_dir(tmp_path, mods, target):
    (tmp_path / "secret.rhai").write_text("export const S = 1;")
    (mods / "sub").mkdir()
    target = target.format(abs=tmp_path / "secret")
    with pytest.raises(rhai.RhaiError):
        rhai.Engine(module_dir=mods).eval(f'import "{target}" as s; s::S')


def test_import_cannot_leave_module_dir_through_symlink(tmp_path, mods):
    (tmp_path / "secret.rhai").write_text("export const S = 1;")
    (mods / "link.rhai").symlink_to(tmp_path / "secret.rhai")
    with pytest.raises(rhai.RhaiError):
        rhai.Engine(module_dir=mods).eval('import "link" as s; s::S')


def test_modules_are_cached_by_the_engine(mods):
    (mods / "counter.rhai").write_text('print("loading");\nexport const V = 1;')
    engine = rhai.Engine(module_dir=mods)
    printed = []
    engine.on_print(printed.append)
    assert engine.eval('import "counter" as c; c::V') == 1
    (mods / "counter.rhai").write_text("export const V = 2;")
    assert engine.eval('import "counter" as c; c::V') == 1
    assert printed == ["loading"]
    assert rhai.Engine(module_dir=mods).eval('import "counter" as c; c::V') == 2


def test_error_inside_module_names_the_module(mods):
    with pytest.raises(rhai.EvalError) as info:
        rhai.Engine(module_dir=mods).eval('import "base" as base;\nbase::boom()')
    err = info.value
    assert err.value == "bad"
    assert err.function == "boom"
    assert err.source is not None
    assert err.source.endswith("base.rhai")
    assert (err.line, err.position) == (4, 5)


def test_syntax_error_inside_module_names_the_module(mods):
    (mods / "broken.rhai").write_text("let x = 1;\nlet = ;\n")
    with pytest.raises(rhai.RhaiError) as info:
        rhai.Engine(module_dir=mods).eval('import "broken" as b;')
    err = info.value
    assert err.source is not None
    assert err.source.endswith("broken.rhai")
    assert err.line == 2


def test_import_cycle_is_an_error_not_a_crash(mods):
    (mods / "ping.rhai").write_text('import "pong" as pong;\nfn hit() { 1 }\n')
    (mods / "pong.rhai").write_text('import "ping" as ping;\nfn hit() { 2 }\n')
    with pytest.raises(rhai.EvalError) as info:
        rhai.Engine(module_dir=mods).eval('import "ping" as ping;\nping::hit()')
    assert "import cycle" in info.value.message
    assert info.value.message.count("ping.rhai") == 2


def test_module_imports_next_to_itself_without_module_dir(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "outer.rhai").write_text('import "inner" as inner;\nfn get() { inner::value() }\n')
    (tmp_path / "lib" / "inner.rhai").write_text("fn value() { 7 }\n")
    (tmp_path / "main.rhai").write_text('import "lib/outer" as outer;\nouter::get()\n')
    engine = rhai.Engine()
    assert engine.eval_ast(engine.compile_file(tmp_path / "main.rhai")) == 7
