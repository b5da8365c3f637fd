"""The plugin linter: real Rhai plugin folders written to tmp_path, checked as `nib image check` does."""

from pathlib import Path

import pytest

from babel_api.engine import Engine
from babel_api.lint import DEFAULT_NODE_ENV, MISSING_PLUGIN_CONFIG, LintEngine, Problem, check
from babel_api.models import JobStatus, JrpcRequest, NodeEnv

PROPERTIES = {"network": "mainnet", "port": "8545"}

CONFIG = """
fn plugin_config() {
    #{
        config_files: [#{
            template: "/var/lib/babel/templates/config.template",
            destination: "/etc/node.config",
            params: #{ network: node_params().network },
        }],
        init: #{ commands: [`mkdir -p ${node_env().protocol_data_path}`], jobs: [] },
        services: [#{ name: "node", run_sh: `node --port ${node_params()["port"]}` }],
    }
}
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    """Write the plugin `files` (relative path -> Rhai source) into `folder`; return `folder`."""
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return folder


def undefined(folder: Path, file: str, line: int, column: int, key: str) -> Problem:
    return Problem(folder / file, line, column, f"'{key}' not defined in babel.yaml")


def at(source: str, needle: str) -> tuple[int, int]:
    """Line and column (both from 1) of the first `needle` in `source`."""
    for number, text in enumerate(source.splitlines(), 1):
        if needle in text:
            return number, text.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the source")


def test_a_clean_plugin_has_no_problem(tmp_path):
    main = """
import "base" as base;

const NET = node_params().network;

fn plugin_config() {
    let config = base::config();
    config.services = [#{ name: "node", run_sh: `node --net ${global::NET}` }];
    config
}

fn init() {
    let key = get_secret("node-key").as_string();
    if key != "secret value" { throw "unexpected secret " + key; }
    if job_info("anything").status.pending.waiting_for != [] { throw "job not pending"; }
    if !get_jobs().contains("dummy_job") { throw "no dummy job"; }
    run_sh(`echo ${sanitize_sh_param(node_params().network)}`).unwrap();
    file_write("/x", file_read("/y"));
    save_data(load_data());
    add_task("t", "* * * * * *", "height", "");
    default_init();
}

fn height() {
    parse_hex(run_jrpc(#{ host: "http://localhost", method: "eth_blockNumber" }).expect(200).result)
}
"""
    base = """
fn config() {
    #{ init: #{ commands: [`echo ${node_params()["port"]}`], jobs: [] }, services: [] }
}
"""
    assert check(write(tmp_path, {"main.rhai": main, "base.rhai": base}), node_properties=PROPERTIES) == []


def test_the_default_node_is_the_synthetic_one_and_another_may_be_given(tmp_path):
    main = """
fn plugin_config() {
    if node_env().node_name != "node_name" || !node_env().dev_mode { throw "not the lint node"; }
    #{ services: [] }
}
"""
    folder = write(tmp_path, {"main.rhai": main})
    assert check(folder) == []
    assert DEFAULT_NODE_ENV.node_ip == "1.2.3.4"
    assert DEFAULT_NODE_ENV.protocol_data_path == "/blockjoy/protocol_data"

    problems = check(folder, node_env=NodeEnv(node_name="other"))
    assert len(problems) == 1
    assert "not the lint node" in problems[0].message


def test_a_syntax_error_is_one_problem_at_its_place(tmp_path):
    folder = write(tmp_path, {"main.rhai": "fn plugin_config() {\n    let x = ;\n}\n"})

    problems = check(folder)

    # Found both when building the plugin and when compiling the file for the scan: reported once.
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.line, problem.column) == (folder / "main.rhai", 2, 13)
    assert problem.message.startswith("Rhai syntax error: ")
    assert str(problem) == f"{folder / 'main.rhai'}:2:13: {problem.message}"


def test_a_syntax_error_in_a_module_is_reported_once_with_the_module_place(tmp_path):
    main = 'import "base" as base;\nfn plugin_config() { #{ services: [] } }\n'
    folder = write(tmp_path, {"main.rhai": main, "base.rhai": "fn f() {\n  f(;\n}\n"})

    problems = check(folder)

    assert [(p.file, p.line, p.column) for p in problems] == [(folder / "base.rhai", 2, 5)]
    assert problems[0].message.startswith("Rhai syntax error: ")


def test_an_unchecked_http_call_in_plugin_config_fails_the_lint(tmp_path):
    main = """
fn plugin_config() {
    let peers = run_rest(#{ url: "http://localhost/peers" }).expect(200);
    #{ services: [] }
}
"""
    problems = check(write(tmp_path, {"main.rhai": main}))

    assert problems == [
        Problem(
            tmp_path / "main.rhai",
            3,
            62,
            "Rhai function 'plugin_config' returned error: Runtime error: unexpected status_code: 0 "
            "(in function 'plugin_config')",
        )
    ]


def test_an_error_in_init_is_placed_in_the_module_where_it_happened(tmp_path):
    main = f'import "aux" as aux;\n{CONFIG}\nfn init() {{\n    aux::peers();\n}}\n'
    aux = 'fn peers() {\n    run_jrpc(#{ host: "h", method: "peers" }).expect(200)\n}\n'
    folder = write(tmp_path, {"main.rhai": main, "aux.rhai": aux})

    problems = check(folder, node_properties=PROPERTIES)

    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.line, problem.column) == (folder / "aux.rhai", 2, 47)
    assert "Rhai function 'init' returned error" in problem.message
    assert "unexpected status_code: 0 (in function 'peers')" in problem.message
    # The place is said once, in front.
    assert str(folder) not in problem.message


def test_an_error_in_a_closure_is_placed_in_the_closure_and_said_once(tmp_path):
    main = """
fn plugin_config() {
    run_rest(#{ url: "http://localhost" }).expect(|code| code.nothing());
    #{ services: [] }
}
"""
    problems = check(write(tmp_path, {"main.rhai": main}))

    assert len(problems) == 1
    assert (problems[0].line, problems[0].column) == at(main, "nothing")
    assert "Function not found: nothing" in problems[0].message
    assert str(tmp_path) not in problems[0].message


def test_a_relative_plugin_folder_names_every_file_the_same_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main = 'import "base" as base;\nfn plugin_config() { base::config() }\n'
    base = "fn config() {\n    #{ services: [] }.nothing()\n}\n"
    write(tmp_path / "plugin", {"main.rhai": main, "base.rhai": base, "broken.rhai": "let x = ;"})

    problems = check(Path("plugin"))

    # Rhai names an imported module by its absolute path; the problems name it as the scan does.
    assert [(p.file, p.line) for p in problems] == [
        (Path("plugin/base.rhai"), 2),
        (Path("plugin/broken.rhai"), 1),
    ]


def test_a_plugin_without_plugin_config_gets_the_deprecation_warning(tmp_path):
    folder = write(tmp_path, {"main.rhai": 'fn init() {\n    start_job("node");\n}\n'})

    assert check(folder) == [Problem(folder / "main.rhai", None, None, MISSING_PLUGIN_CONFIG)]
    assert str(check(folder)[0]) == f"{folder / 'main.rhai'}: {MISSING_PLUGIN_CONFIG}"


def test_without_plugin_config_nor_init_both_the_warning_and_the_init_error_are_reported(tmp_path):
    folder = write(tmp_path, {"main.rhai": "fn height() { 1 }\n"})

    problems = check(folder)

    assert [p.message for p in problems] == [MISSING_PLUGIN_CONFIG, "Missing plugin_config function"]


def test_an_invalid_plugin_config_is_a_problem_of_the_main_script_and_not_a_missing_one(tmp_path):
    main = 'fn plugin_config() {\n    #{ services: [#{ name: "node", run_sh: 42 }] }\n}\n'
    folder = write(tmp_path, {"main.rhai": main})

    problems = check(folder)

    assert len(problems) == 1
    assert problems[0].file == folder / "main.rhai"
    assert problems[0].line is None
    assert "services[0].run_sh" in problems[0].message


def test_a_missing_main_script_is_a_problem(tmp_path):
    problems = check(tmp_path)

    assert len(problems) == 1
    assert problems[0].file == tmp_path / "main.rhai"
    assert "no such file" in problems[0].message
    # The file is named in front of the message only.
    assert str(tmp_path) not in problems[0].message


def test_an_unsafe_shell_parameter_is_a_problem(tmp_path):
    main = """
fn plugin_config() {
    #{ services: [#{ name: "node", run_sh: "node " + sanitize_sh_param(node_params().network) }] }
}
"""
    problems = check(write(tmp_path, {"main.rhai": main}), node_properties={"network": "main; rm -rf /"})

    assert len(problems) == 1
    assert "Shell unsafe character detected: ;" in problems[0].message


def test_undefined_properties_are_reported_at_their_key_in_every_form_and_file(tmp_path):
    main = """import "lib/aux" as aux;
const NET = node_params()["chain"];
fn plugin_config() {
    #{
        services: [#{
            name: "node",
            run_sh: `node --net ${node_params().net_type} --port ${node_params()["port"]}`,
        }],
        init: #{ commands: [node_params ( )
            [ "spaced" ], node_params()
               .dotted, node_params()?.maybe, node_params()?["maybe_too"]] },
    }
}
"""
    aux = r"""fn x() {
  `${node_params()[#"raw"#]} ${node_params()[`tick``s`]} ${ `${node_params().nested}` }`;
  node_params()["say ""hi"" now"] + node_params()["\x41"]
}
"""
    folder = write(tmp_path, {"main.rhai": main, "lib/aux.rhai": aux})

    problems = check(folder, node_properties=PROPERTIES)

    scan = [p for p in problems if p.message.endswith("not defined in babel.yaml")]
    assert scan == [
        undefined(folder, "lib/aux.rhai", *at(aux, '#"raw"#'), "raw"),
        undefined(folder, "lib/aux.rhai", *at(aux, "`tick"), "tick`s"),
        undefined(folder, "lib/aux.rhai", *at(aux, "nested"), "nested"),
        undefined(folder, "lib/aux.rhai", *at(aux, '"say'), 'say "hi" now'),
        undefined(folder, "lib/aux.rhai", *at(aux, r'"\x41'), "A"),
        undefined(folder, "main.rhai", *at(main, '"chain"'), "chain"),
        undefined(folder, "main.rhai", *at(main, "net_type"), "net_type"),
        undefined(folder, "main.rhai", *at(main, '"spaced"'), "spaced"),
        undefined(folder, "main.rhai", *at(main, "dotted"), "dotted"),
        undefined(folder, "main.rhai", *at(main, "maybe,"), "maybe"),
        undefined(folder, "main.rhai", *at(main, '"maybe_too"'), "maybe_too"),
    ]
    assert str(scan[0]) == f"{folder / 'lib/aux.rhai'}:2:20: 'raw' not defined in babel.yaml"


def test_keys_in_comments_and_text_are_not_reported(tmp_path):
    main = r"""
// node_params().line_comment
/* node_params().block /* nested */ node_params().still_in_comment */
const A = "node_params().plain ${node_params().not_interpolated} \" node_params().escaped";
const C = #"a "node_params().raw" in a raw string"#;
const D = '"'; const E = node_params().after_char;
const F = `\${node_params().escaped_interpolation} `` node_params().doubled_tick`;
fn plugin_config() { #{ services: [] } }
"""
    folder = write(tmp_path, {"main.rhai": main})

    assert check(folder) == [undefined(folder, "main.rhai", *at(main, "after_char"), "after_char")]


def test_dynamic_keys_and_methods_are_not_reported(tmp_path):
    main = """
fn plugin_config() {
    let key = "network";
    let params = node_params();
    let a = node_params()[key];
    let b = node_params()["net" + "work"];
    let c = params.undeclared;
    let d = node_params().keys();
    let e = node_params().contains("undeclared");
    let f = node_params ().len ();
    #{ services: [] }
}
"""
    assert check(write(tmp_path, {"main.rhai": main})) == []


def test_defined_properties_are_not_reported(tmp_path):
    folder = write(tmp_path, {"main.rhai": CONFIG})

    assert check(folder, node_properties=PROPERTIES) == []
    assert [p.message for p in check(folder, node_properties={"port": "1"})] == [
        "'network' not defined in babel.yaml"
    ]


def test_a_key_used_in_several_places_is_reported_at_each_once(tmp_path):
    main = "fn plugin_config() {\n    [node_params().a, node_params().a];\n    #{ services: [] }\n}\n"
    folder = write(tmp_path, {"main.rhai": main})

    assert check(folder) == [
        undefined(folder, "main.rhai", 2, 20, "a"),
        undefined(folder, "main.rhai", 2, 37, "a"),
    ]


def test_every_problem_is_reported_together(tmp_path):
    main = """import "aux" as aux;
fn plugin_config() {
    #{ services: [#{ name: "node", run_sh: `node ${node_params().first}` }] }
}
fn init() { run_rest(#{ url: "http://localhost" }).expect(200); }
"""
    aux = "fn x() { node_params().second }\n"
    broken = "fn y() {\n  node_params().third +\n}\n"
    folder = write(tmp_path, {"main.rhai": main, "aux.rhai": aux, "z/broken.rhai": broken})

    problems = check(folder)

    assert [(p.file.name, p.line, p.column) for p in problems] == [
        ("main.rhai", 5, 52),  # init's .expect(200)
        ("aux.rhai", 1, 24),
        ("main.rhai", 3, 66),
        ("broken.rhai", 3, 1),  # the syntax error ...
        ("broken.rhai", 2, 17),  # ... does not stop the scan of its own file
    ]
    assert problems[3].message.startswith("Rhai syntax error: ")


def test_a_script_that_is_not_utf8_is_a_problem_and_the_others_are_still_scanned(tmp_path):
    folder = write(tmp_path, {"main.rhai": "fn plugin_config() { #{ services: [node_params().x] } }\n"})
    (folder / "latin1.rhai").write_bytes(b'let name = "caf\xe9";\n')

    problems = check(folder)

    assert [(p.file.name, p.line) for p in problems] == [
        ("main.rhai", None),
        ("latin1.rhai", None),
        ("main.rhai", 1),
    ]
    assert "cannot read the script" in problems[1].message
    assert problems[2].message == "'x' not defined in babel.yaml"


def test_a_folder_that_does_not_exist_is_one_problem(tmp_path):
    assert [p.file for p in check(tmp_path / "nowhere")] == [tmp_path / "nowhere" / "main.rhai"]


def test_the_lint_engine_is_an_engine_with_neutral_answers():
    engine = LintEngine(DEFAULT_NODE_ENV, {"a": "b"})

    assert isinstance(engine, Engine)
    assert engine.job_info("any").status == JobStatus.pending([])
    assert list(engine.get_jobs()) == ["dummy_job"]
    assert engine.run_jrpc(JrpcRequest(host="h", method="m")).status_code == 0
    assert engine.node_params() == {"a": "b"}
    assert engine.get_secret("any") == b"secret value"
    assert engine.load_config() is None
    with pytest.raises(ValueError, match="Very unsafe"):
        engine.sanitize_sh_param("it's")
