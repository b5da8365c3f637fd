"""The Rhai protocol plugin on a recording FakeEngine: the original's unit tests (spec §8.2) and edge cases.

Each test writes its `main.rhai` (and any module it imports) to a temporary plugin folder, loads it with
`load_rhai_plugin` and checks both what the plugin answers and what it asked of the engine.
"""

import textwrap
from pathlib import Path

import pytest
import rhai

from babel_api import (
    HttpResponse,
    JobConfig,
    JobInfo,
    JobStatus,
    JobType,
    JrpcRequest,
    NodeEnv,
    NodeHealth,
    PluginConfig,
    PluginConfigError,
    PluginError,
    ProtocolPlugin,
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
    RestRequest,
    ShResponse,
    load_rhai_plugin,
)
from babel_api.models import Timestamp
from babel_api.testing import FakeEngine


def write_plugin(folder: Path, script: str, **modules: str) -> Path:
    """Write `main.rhai` (and `<name>.rhai` for each module) into `folder`; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.rhai").write_text(textwrap.dedent(script))
    for name, text in modules.items():
        (folder / f"{name}.rhai").write_text(textwrap.dedent(text))
    return folder


@pytest.fixture
def plugin_from(tmp_path):
    """`plugin_from(script, engine=None, **modules)`: the plugin of that script, on `engine` (a fresh
    FakeEngine by default)."""

    def load(script: str, engine: FakeEngine | None = None, **modules: str) -> ProtocolPlugin:
        folder = write_plugin(tmp_path / "plugin", script, **modules)
        return load_rhai_plugin(folder, engine if engine is not None else FakeEngine())

    return load


def failing(message: str):
    """An engine method that fails with `message`, as a host error would."""

    def fail(*args, **kwargs):
        raise RuntimeError(message)

    return fail


# -- spec §8.2 -----------------------------------------------------------------------------------------------


CAPABILITIES_SCRIPT = """
    fn function_A(any_param) {
    }

    fn function_b(more, params) {
    }

    fn functionC() {
        // no params
    }
"""


def test_capabilities(plugin_from):
    # The persisted (default) config makes the built-in init and upload available.
    plugin = plugin_from(CAPABILITIES_SCRIPT, FakeEngine(config=PluginConfig(services=[])))
    assert set(plugin.capabilities()) == {"init", "upload", "function_A", "function_b", "functionC"}
    assert len(plugin.capabilities()) == 5


def test_capabilities_without_config_are_the_script_functions(plugin_from):
    plugin = plugin_from(CAPABILITIES_SCRIPT)
    assert sorted(plugin.capabilities()) == ["functionC", "function_A", "function_b"]


BUILT_IN_SCRIPT = """
    fn init() {
        save_data("init");
    }

    fn upload() {
        save_data("upload");
    }

    fn height() {
        77
    }

    fn block_age() {
        18
    }

    fn apr() {
        5.25
    }

    fn jailed() {
        false
    }

    fn jailed_reason() {
        ""
    }

    fn sqd_name() {
        "sqd name"
    }

    fn name() {
        "block name"
    }

    fn address() {
        "node address"
    }

    fn consensus() {
        true
    }

    fn protocol_status() {
        #{state: "delinquent", health: "unhealthy"}
    }
"""


def test_call_build_in_functions(plugin_from):
    # The original also clones the plugin first (it does so for every operation); this project's plugin
    # holds no per-call state to clone, so there is nothing to port for that step.
    engine = FakeEngine()
    plugin = plugin_from(BUILT_IN_SCRIPT, engine)

    plugin.init()
    assert engine.data == "init"
    assert engine.stop_all_calls == 0  # the script's init ran, not the default one
    plugin.upload()
    assert engine.data == "upload"

    assert plugin.height() == 77
    assert plugin.block_age() == 18
    apr = plugin.apr()
    assert apr == 5.25
    assert type(apr) is float
    assert plugin.jailed() is False
    assert plugin.jailed_reason() == ""
    assert plugin.name() == "block name"
    assert plugin.address() == "node address"
    assert plugin.consensus() is True
    assert plugin.protocol_status() == ProtocolStatus(state="delinquent", health=NodeHealth.UNHEALTHY)
    assert engine.created == []


def test_sqd_name(plugin_from):
    # Spec §1.1 lists `sqd_name()` among the operations (string result) and §8.2 checks it.
    plugin = plugin_from(BUILT_IN_SCRIPT)
    assert plugin.sqd_name() == "sqd name"


CUSTOM_METHOD_SCRIPT = """
    fn custom_method(param) {
        debug("debug message");
        info("info message");
        warn("warn message");
        error("error message");
        let out = parse_json(param).a;
        start_job("test_job_name", #{
            job_type: #{
                run_sh: "job body",
            },
            restart: #{
                "on_failure": #{
                    max_retries: 3,
                    backoff_timeout_ms: 1000,
                    backoff_base_ms: 500,
                },
            },
            needs: ["needed"],
            run_as: "some_user",
        });
        create_job("download_job_name", #{
            job_type: #{
                download: #{},
            },
            restart: "never",
        });
        start_job("download_job_name");
        stop_job("test_job_name");
        out += "|" + job_info("test_job_name");
        out += "|" + get_jobs();
        out += "|" + run_jrpc(#{host: "host", method: "method", headers: [["custom_header", "header value"]]})
            .expect(200).key;
        out += "|" + run_jrpc(#{host: "host", method: "method", params: #{"chain": "x"}}, 1)
            .expect(|code| code >= 200).param;
        out += "|" + run_jrpc(#{host: "host", method: "method", params: ["positional", "args", "array"]}, 1)
            .body;
        let http_out = run_rest(#{url: "url"});
        out += "|" + http_out.body;
        out += "|" + http_out.status_code;
        out += "|" + run_rest(#{url: "url", headers: [["another-header", "another value"]]}, 2).body;
        out += "|" + run_sh("body").unwrap();
        let sh_out = run_sh("body", 3);
        out += "|" + sh_out.stderr;
        out += "|" + sh_out.exit_code;
        out += "|" + sanitize_sh_param("sh param");
        out += "|" + parse_hex("0xff").to_string();
        render_template("/template/path", "output/path.cfg", #{ PARAM1: "Value I"});
        out += "|" + node_params().to_json();
        out += "|" + node_env().node_id;
        save_data("some plugin data");
        out += "|" + load_data();
        file_write("/file/path", "file content".to_blob());
        out += "|" + file_read("/file/path");
        put_secret("secret_key", "some plugin secret".to_blob());
        try {
            get_secret("secret_key_0")
        } catch (err) {
            if err == "not_found" {
                out += "|" + get_secret("secret_key").as_string();
            }
        }
        // Registered functions the original's test leaves out.
        add_task("task_a", "* * * * * *", "fn_a", "param_a");
        add_task("task_b", "0 0 * * * * *", "fn_b");
        delete_task("task_a");
        out += "|" + type_of(system_time());
        out += "|" + parse_rfc3339("2024-05-01T12:00:00Z");
        out += "|" + parse_rfc2822("Wed, 01 May 2024 12:00:00 +0000");
        out += "|" + parse_time("2024-05-01 12:00:00 +0000", "%Y-%m-%d %H:%M:%S %z");
        out += "|" + [1, "a"].to_json();
        out += "|" + type_of(http_out) + "|" + type_of(sh_out);
        out
    }
"""

# The original's expected result (spec §8.2) with the job maps of §2.8 (this FakeEngine's timestamps are
# the Unix epoch).
ORIGINAL_CUSTOM_METHOD_RESULT = (
    "json_as_param"
    '|#{"logs": [], "progress": (), "restart_count": 0, "status": #{"finished": #{"exit_code": 1, '
    '"message": "error msg"}}, "timestamp": #{"nanos_since_epoch": 0, "secs_since_epoch": 0}, '
    '"upgrade_blocking": false}'
    '|#{"custom_name": #{"logs": [], "progress": (), "restart_count": 0, "status": "running", '
    '"timestamp": #{"nanos_since_epoch": 0, "secs_since_epoch": 0}, "upgrade_blocking": true}}'
    "|jrpc_response|jrpc_with_map_and_timeout_response|jrpc_with_array_and_timeout_response|rest_response"
    '|200|rest_with_timeout_response|sh_response|sh_with_timeout_err|-1|sh_sanitized|255|{"key_A":"value_A"}'
    "|node_id|loaded data|file content|psecret"
)
# What the extra lines add. Deliberate difference: HTTP and shell responses are plain maps here, so their
# `type_of` is "map" where the original says "DressedHttpResponse" / "DressedShResponse"; the date helpers
# return int seconds (spec §12) and `parse_rfc2822` is callable under its name.
EXTRA_CUSTOM_METHOD_RESULT = '|i64|1714564800|1714564800|1714564800|[1,"a"]|map|map'


class MockLikeEngine(FakeEngine):
    """A FakeEngine answering like the original test's mock where a stateful fake would differ: canned
    `load_data`, `sanitize_sh_param` and secrets, with the calls recorded."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sanitized: list[str] = []
        self.put_secrets: list[tuple[str, bytes]] = []
        self.asked_secrets: list[str] = []

    def sanitize_sh_param(self, param):
        self.sanitized.append(param)
        return "sh_sanitized"

    def load_data(self):
        return "loaded data"

    def put_secret(self, name, value):
        self.put_secrets.append((name, bytes(value)))

    def get_secret(self, name):
        self.asked_secrets.append(name)
        return {"secret_key": b"psecret"}.get(name)


def test_call_custom_method_call_engine(plugin_from):
    jobs_answers = iter(
        [
            {"test_job_name": JobStatus.finished(1, "error msg")},
            {
                "custom_name": JobInfo(
                    status=JobStatus.running(), timestamp=Timestamp(0, 0), upgrade_blocking=True
                )
            },
        ]
    )
    jrpc_answers = iter(
        [
            HttpResponse(200, '{"key": "jrpc_response"}'),
            HttpResponse(204, '{"param":"jrpc_with_map_and_timeout_response"}'),
            HttpResponse(200, "jrpc_with_array_and_timeout_response"),
        ]
    )
    rest_answers = iter([HttpResponse(200, "rest_response"), HttpResponse(204, "rest_with_timeout_response")])
    sh_answers = iter([ShResponse(0, "sh_response", ""), ShResponse(-1, "", "sh_with_timeout_err")])
    engine = MockLikeEngine(
        jobs_info=jobs_answers.__next__,
        run_jrpc=lambda request, timeout: next(jrpc_answers),
        run_rest=lambda request, timeout: next(rest_answers),
        run_sh=lambda body, timeout: next(sh_answers),
        has_protocol_archive=True,
        node_params={"key_A": "value_A"},
        node_env=NodeEnv(node_id="node_id"),
    )
    plugin = plugin_from(CUSTOM_METHOD_SCRIPT, engine)

    result = plugin.call_custom_method("custom_method", '{"a":"json_as_param"}')

    assert result == ORIGINAL_CUSTOM_METHOD_RESULT + EXTRA_CUSTOM_METHOD_RESULT
    assert engine.logs == [
        ("debug", '"debug message"'),
        ("info", "info message"),
        ("warn", "warn message"),
        ("error", "error message"),
    ]
    assert engine.created == [
        (
            "test_job_name",
            JobConfig(
                job_type=JobType.run_sh("job body"),
                restart=RestartPolicy.on_failure(
                    RestartConfig(backoff_timeout_ms=1000, backoff_base_ms=500, max_retries=3)
                ),
                needs=["needed"],
                run_as="some_user",
            ),
        ),
        ("download_job_name", JobConfig(job_type=JobType.download(), restart=RestartPolicy.never())),
    ]
    assert engine.started == ["test_job_name", "download_job_name"]
    assert engine.stopped == ["test_job_name"]
    assert engine.jrpc_calls == [
        (JrpcRequest(host="host", method="method", headers=[("custom_header", "header value")]), None),
        (JrpcRequest(host="host", method="method", params='{"chain":"x"}'), 1),
        (JrpcRequest(host="host", method="method", params='["positional","args","array"]'), 1),
    ]
    assert engine.rest_calls == [
        (RestRequest(url="url"), None),
        (RestRequest(url="url", headers=[("another-header", "another value")]), 2),
    ]
    assert engine.sh_calls == [("body", None), ("body", 3)]
    assert engine.sanitized == ["sh param"]
    assert engine.templates == [(Path("/template/path"), Path("output/path.cfg"), {"PARAM1": "Value I"})]
    assert engine.data == "some plugin data"
    assert engine.files == {Path("/file/path"): b"file content"}
    assert engine.put_secrets == [("secret_key", b"some plugin secret")]
    assert engine.asked_secrets == ["secret_key_0", "secret_key"]
    assert engine.tasks == {"task_b": ("0 0 * * * * *", "fn_b", "")}


PROTOCOL_STATUS_SCRIPT = """
    fn plugin_config() {
        #{
            services: [
                #{
                    name: "protocol_service_a",
                    run_sh: `echo A`,
                },
                #{
                    name: "protocol_service_b",
                    run_sh: `echo B`,
                }
            ],
        }
    }

    fn init() {}

    fn protocol_status() {
        #{state: "delinquent", health: "unhealthy"}
    }
"""


def test_protocol_status(plugin_from):
    answers = iter(
        [
            {"download": JobStatus.running()},
            {"protocol_service_a": JobStatus.running(), "protocol_service_b": JobStatus.pending([])},
            {"upload": JobStatus.running()},
            {},
        ]
    )
    engine = FakeEngine(jobs_info=answers.__next__)
    plugin = plugin_from(PROTOCOL_STATUS_SCRIPT, engine)
    plugin.init()

    assert plugin.protocol_status() == ProtocolStatus(state="downloading", health=NodeHealth.NEUTRAL)
    assert plugin.protocol_status() == ProtocolStatus(state="starting", health=NodeHealth.NEUTRAL)
    assert plugin.protocol_status() == ProtocolStatus(state="uploading", health=NodeHealth.NEUTRAL)
    assert plugin.protocol_status() == ProtocolStatus(state="delinquent", health=NodeHealth.UNHEALTHY)
    assert engine.created == []  # the script's own init() did nothing


ERRORS_SCRIPT = """
    fn custom_method_with_exception(param) {
        throw "some Rhai exception";
        ""
    }

    fn custom_failing_method(param) {
        load_data()
    }

    fn plugin_config() {
        #{ services: [] }
    }
"""


def test_errors_handling(plugin_from):
    engine = FakeEngine()
    engine.load_data = failing("some Rust error")
    engine.save_config = failing("failed to save plugin config")
    plugin = plugin_from(ERRORS_SCRIPT, engine)

    with pytest.raises(PluginError) as thrown:
        plugin.call_custom_method("custom_method_with_exception", "")
    assert str(thrown.value).startswith("Rhai function 'custom_method_with_exception' returned error")
    assert "some Rhai exception" in str(thrown.value)

    with pytest.raises(PluginError) as failed:
        plugin.call_custom_method("custom_failing_method", "")
    assert str(failed.value).startswith("Rhai function 'custom_failing_method' returned error")
    assert "Runtime error: some Rust error" in str(failed.value)
    cause = failed.value.__cause__
    assert isinstance(cause, rhai.EvalError)
    assert cause.kind == "ErrorRuntime"
    assert cause.value == "some Rust error"  # host errors reach scripts as their message
    assert isinstance(cause.__cause__, RuntimeError)

    with pytest.raises(PluginError) as unknown:
        plugin.call_custom_method("no_method", "")
    assert str(unknown.value).endswith("no matching method 'no_method' found")

    with pytest.raises(RuntimeError, match="failed to save plugin config"):
        plugin.reload_plugin_config()


# -- script functions and their answers ----------------------------------------------------------------------


def test_missing_protocol_status_is_a_clear_error(plugin_from):
    plugin = plugin_from("fn height() { 1 }")
    with pytest.raises(PluginError, match=r"does not implement protocol_status\(\)"):
        plugin.protocol_status()


@pytest.mark.parametrize(
    ("function", "body", "expected"),
    [
        ("height", "-1", "a non-negative integer"),
        ("height", '"77"', "a non-negative integer"),
        ("height", "77.0", "a non-negative integer"),
        ("block_age", "true", "a non-negative integer"),
        ("consensus", '"true"', "a bool"),
        ("jailed", "0", "a bool"),
        ("apr", "5", "a float"),
        ("address", "42", "a string"),
        ("name", "()", "a string"),
    ],
)
def test_wrong_return_type_names_the_function(plugin_from, function, body, expected):
    plugin = plugin_from(f"fn {function}() {{ {body} }}")
    with pytest.raises(PluginError) as error:
        getattr(plugin, function)()
    assert f"{function}() must return {expected}" in str(error.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('#{state: "ok"}', "health"),
        ('#{state: "ok", health: "HEALTHY"}', "health"),
        ('"broadcasting"', "protocol_status"),
    ],
)
def test_protocol_status_must_be_a_status_map(plugin_from, body, message):
    plugin = plugin_from(f"fn protocol_status() {{ {body} }}")
    with pytest.raises(PluginError, match=message):
        plugin.protocol_status()


def test_protocol_status_ignores_extra_keys(plugin_from):
    plugin = plugin_from('fn protocol_status() { #{state: "ok", health: "healthy", extra: 1} }')
    assert plugin.protocol_status() == ProtocolStatus(state="ok", health=NodeHealth.HEALTHY)


def test_every_call_runs_the_top_level_first(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from(
        """
        const NETWORK = "main";
        info("top level");
        fn name() { global::NETWORK }
        """,
        engine,
    )
    assert plugin.name() == "main"
    assert plugin.name() == "main"
    assert engine.logs == [("info", "top level"), ("info", "top level")]


# -- errors --------------------------------------------------------------------------------------------------


def test_thrown_string_is_the_error_value(plugin_from):
    plugin = plugin_from('fn boom() { throw "it broke" }')
    with pytest.raises(PluginError) as error:
        plugin.call_custom_method("boom", "")
    assert str(error.value).startswith("Rhai function 'boom' returned error: ")
    assert "it broke" in str(error.value)
    assert isinstance(error.value.__cause__, rhai.EvalError)
    assert error.value.__cause__.value == "it broke"


def test_thrown_map_is_the_error_value(plugin_from):
    plugin = plugin_from("fn boom(p) { throw #{code: 7, reason: p} }")
    with pytest.raises(PluginError) as error:
        plugin.call_custom_method("boom", "why")
    assert str(error.value).startswith("Rhai function 'boom' returned error: ")
    assert isinstance(error.value.__cause__, rhai.EvalError)
    assert error.value.__cause__.value == {"code": 7, "reason": "why"}


def test_syntax_error_at_load_names_file_line_and_column(tmp_path):
    folder = write_plugin(tmp_path, "fn height() {\n    77\n}\nfn broken( {\n}\n")
    with pytest.raises(PluginError) as error:
        load_rhai_plugin(folder, FakeEngine())
    assert str(error.value).startswith("Rhai syntax error")
    assert f"{folder / 'main.rhai'}:4:12: " in str(error.value)  # the `{` where `)` should be
    assert isinstance(error.value.__cause__, rhai.ParseError)
    assert (error.value.__cause__.line, error.value.__cause__.position) == (4, 12)


def test_missing_main_script_is_a_clear_error(tmp_path):
    with pytest.raises(PluginError, match=r"main\.rhai"):
        load_rhai_plugin(tmp_path, FakeEngine())


def test_import_of_a_module_of_the_plugin_folder(plugin_from):
    plugin = plugin_from(
        """
        import "base" as base;
        fn name() { base::network() }
        """,
        base='fn network() { "main-" + node_env().node_variant }',
    )
    plugin.engine.env = NodeEnv(node_variant="v1")
    assert plugin.name() == "main-v1"


def test_import_of_a_missing_module_names_module_and_folder(plugin_from, tmp_path):
    plugin = plugin_from('fn name() { import "nothere" as m; m::f() }')
    with pytest.raises(PluginError) as error:
        plugin.name()
    assert "nothere" in str(error.value)
    assert str(tmp_path / "plugin") in str(error.value)
    assert error.value.__cause__.kind == "ErrorModuleNotFound"


@pytest.mark.parametrize("path", ["../outside/evil", "{outside}/evil"])
def test_import_escaping_the_plugin_folder_is_refused(plugin_from, tmp_path, path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.rhai").write_text('save_data("escaped");\nfn f() { "evil" }\n')
    engine = FakeEngine()
    plugin = plugin_from(f'fn name() {{ import "{path.format(outside=outside)}" as e; e::f() }}', engine)
    with pytest.raises(PluginError) as error:
        plugin.name()
    assert error.value.__cause__.kind == "ErrorModuleNotFound"
    assert "outside the module folder" in str(error.value)
    assert engine.data is None  # the module's top level never ran


def test_runaway_loop_is_stopped_by_the_operation_limit(plugin_from):
    plugin = plugin_from("fn height() { loop {} }")
    with pytest.raises(PluginError) as error:
        plugin.height()
    assert str(error.value).startswith("Rhai function 'height' returned error")
    assert error.value.__cause__.kind == "ErrorTooManyOperations"


def test_rhai_errors_are_caught_as_maps_and_host_errors_as_strings(plugin_from):
    engine = FakeEngine()
    engine.load_data = failing("disk on fire")
    plugin = plugin_from(
        """
        fn host() { let out = ""; try { load_data(); } catch (err) { out = type_of(err) + ":" + err; } out }
        fn rhai() {
            let out = "";
            try { no_such_function(); } catch (err) { out = type_of(err) + ":" + err.message; }
            out
        }
        """,
        engine,
    )
    assert plugin.call_custom_method("host", "") == "string:disk on fire"
    assert plugin.call_custom_method("rhai", "") == "map:Function not found: no_such_function ()"


# -- plugin_config, init, upload -----------------------------------------------------------------------------


def test_plugin_config_with_params_is_ignored(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from('fn plugin_config(x) { #{ services: [#{name: "a", run_sh: "a"}] } }', engine)
    plugin.reload_plugin_config()
    assert plugin.config is None
    assert engine.saved_configs == []
    assert "init" not in plugin.capabilities()
    assert "upload" not in plugin.capabilities()
    with pytest.raises((PluginError, RuntimeError), match="Missing plugin_config function"):
        plugin.init()
    assert engine.created == []


def test_reload_without_plugin_config_drops_the_persisted_one(plugin_from):
    engine = FakeEngine(config=PluginConfig(services=[]))
    plugin = plugin_from("fn height() { 1 }", engine)
    assert "init" in plugin.capabilities()
    plugin.reload_plugin_config()
    assert plugin.config is None
    assert set(plugin.capabilities()) == {"height"}


def test_reload_runs_top_level_errors_out(plugin_from):
    plugin = plugin_from('throw "bad top level";\nfn plugin_config() { #{ services: [] } }')
    with pytest.raises(PluginError, match="bad top level"):
        plugin.reload_plugin_config()


def test_init_without_script_init_runs_the_default_init(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from('fn plugin_config() { #{ services: [#{name: "svc", run_sh: "echo svc"}] } }', engine)
    plugin.init()
    assert engine.saved_configs == [plugin.config]
    assert engine.stop_all_calls == 1
    assert engine.started == ["svc"]
    assert engine.jobs["svc"].job_type == JobType.run_sh("echo svc")
    assert {"init", "upload"} <= set(plugin.capabilities())


@pytest.mark.parametrize(
    ("services", "path"),
    [
        ('[#{name: "a", run_sh: "echo"}, #{name: "b", run_sh: 5}]', "services[1].run_sh"),
        ('[#{name: "a", run_sh: "echo"}, #{name: "a", run_sh: "echo"}]', "services[1].name"),
        ('[#{name: "upload", run_sh: "echo"}]', "services[0].name"),
        ('"not a list"', "services"),
    ],
)
def test_invalid_plugin_config_names_the_field_and_starts_nothing(plugin_from, services, path):
    engine = FakeEngine()
    plugin = plugin_from(
        f"""
        fn plugin_config() {{ #{{ services: {services} }} }}
        fn init() {{ start_job("x", #{{job_type: #{{run_sh: "x"}}, restart: "never"}}); }}
        """,
        engine,
    )
    with pytest.raises(PluginConfigError) as error:
        plugin.init()
    assert error.value.path == path
    assert str(error.value).startswith(f"{path}: ")
    # Nothing half-done: no job created or started, nothing stopped, no config saved or adopted.
    assert engine.created == []
    assert engine.started == []
    assert engine.stop_all_calls == 0
    assert engine.saved_configs == []
    assert plugin.config is None


def test_init_and_upload_are_called_without_arguments(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from('fn init(keys) { save_data("init") }', engine)
    with pytest.raises(PluginError, match="Function not found: init"):
        plugin.init()
    assert engine.data is None
    assert engine.stop_all_calls == 0  # the default init did not run instead


DEFAULTS_SCRIPT = """
    fn plugin_config() {
        let name = node_params()["service"];
        #{ services: [#{ name: name, run_sh: "run " + name }] }
    }

    fn init() {
        info("custom init");
        default_init();
    }

    fn upload() {
        default_upload();
    }
"""


def test_default_init_and_upload_from_the_script_use_the_current_config(plugin_from):
    # Spec §12: the original binds default_init()/default_upload() to the config of when the plugin was
    # built, so a config changed by the reload at the start of init() was ignored. Here they use the
    # config the plugin has now.
    persisted = PluginConfig.from_script({"services": [{"name": "persisted", "run_sh": "old"}]})
    engine = FakeEngine(config=persisted, node_params={"service": "first"})
    plugin = plugin_from(DEFAULTS_SCRIPT, engine)

    plugin.init()
    assert engine.logs == [("info", "custom init")]
    assert engine.stop_all_calls == 1
    assert engine.started == ["first"]
    assert engine.jobs["first"].job_type == JobType.run_sh("run first")

    # The current config's protocol service is stopped and restarted, not the persisted one.
    plugin.upload()
    assert engine.stopped == ["first"]
    assert engine.started == ["first", "upload", "first"]

    engine.params["service"] = "second"
    plugin.init()
    assert engine.stop_all_calls == 2
    assert engine.started[-1] == "second"
    assert engine.created[-1][0] == "second"
    assert "persisted" not in engine.jobs


def test_default_init_from_the_script_without_config(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from("fn init() { default_init(); }", engine)
    with pytest.raises(PluginError) as error:
        plugin.init()
    assert str(error.value).startswith("Rhai function 'init' returned error")
    assert "Missing plugin_config function" in str(error.value)
    assert engine.stop_all_calls == 0


# -- custom methods ------------------------------------------------------------------------------------------

ARITY_SCRIPT = """
    fn one(p) { "one:" + p }
    fn zero() { "zero" }
    fn two(a, b) { "two" }
    fn both() { "both:zero" }
    fn both(p) { "both:one:" + p }
    fn number() { 5 }
"""


@pytest.mark.parametrize(
    ("name", "param", "expected"),
    [
        ("one", "x", "one:x"),
        ("one", "", "one:"),
        ("zero", "", "zero"),
        ("both", "", "both:one:"),
        ("both", "y", "both:one:y"),
    ],
)
def test_custom_method_arity_rules(plugin_from, name, param, expected):
    assert plugin_from(ARITY_SCRIPT).call_custom_method(name, param) == expected


@pytest.mark.parametrize(("name", "param"), [("zero", "x"), ("two", ""), ("two", "x"), ("absent", "")])
def test_custom_method_without_matching_arity(plugin_from, name, param):
    with pytest.raises(PluginError) as error:
        plugin_from(ARITY_SCRIPT).call_custom_method(name, param)
    assert str(error.value).endswith(f"no matching method '{name}' found")


def test_custom_method_returning_unit_is_a_type_error(plugin_from):
    # The method exists and ran: its () result is a wrong type (spec §1.5: the result must be a string),
    # not a missing method.
    engine = FakeEngine()
    plugin = plugin_from("fn nothing(p) { save_data(p); }", engine)
    with pytest.raises(PluginError) as error:
        plugin.call_custom_method("nothing", "ran")
    assert engine.data == "ran"
    assert "no matching method" not in str(error.value)
    assert "nothing() must return a string" in str(error.value)


def test_custom_method_must_return_a_string(plugin_from):
    with pytest.raises(PluginError, match=r"number\(\) must return a string"):
        plugin_from(ARITY_SCRIPT).call_custom_method("number", "")


# -- engine functions as scripts see them --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("start_job(5)", "Function not found: start_job (i64)"),
        ("save_data(#{a: 1})", "Function not found: save_data (map)"),
        ('run_sh("x", 1.5)', "Function not found: run_sh ("),
        ('put_secret("k", "text")', "Function not found: put_secret ("),
        ('render_template("t", "d", "not a map")', "Function not found: render_template ("),
    ],
)
def test_registered_functions_dispatch_on_types(plugin_from, call, message):
    engine = FakeEngine()
    plugin = plugin_from(f"fn f() {{ {call} }}", engine)
    with pytest.raises(PluginError) as error:
        plugin.call_custom_method("f", "")
    assert error.value.__cause__.kind == "ErrorFunctionNotFound"
    assert message in str(error.value)
    assert engine.data is None
    assert engine.sh_calls == []
    assert engine.secrets == {}
    assert engine.templates == []


@pytest.mark.parametrize(
    ("request_map", "message"),
    [
        ('#{method: "m"}', "host"),
        ('#{host: "h"}', "method"),
        ('#{host: 5, method: "m"}', "host"),
        ('#{host: "h", method: "m", params: 5}', "unsupported jrpc params type"),
        ('#{host: "h", method: "m", params: "text"}', "unsupported jrpc params type"),
        ('#{host: "h", method: "m", headers: "x"}', "unsupported jrpc headers type"),
        ('#{host: "h", method: "m", headers: [["a", 1]]}', "unsupported jrpc headers type"),
        ('#{host: "h", method: "m", headers: [["a"]]}', "unsupported jrpc headers type"),
        ('#{host: "h", method: "m", headers: #{a: 1}}', "unsupported jrpc headers type"),
    ],
)
def test_run_jrpc_request_errors(plugin_from, request_map, message):
    engine = FakeEngine()
    plugin = plugin_from(
        f"""
        fn f() {{ run_jrpc({request_map}) }}
        fn caught() {{
            let out = "no error";
            try {{ run_jrpc({request_map}); }} catch (err) {{ out = err; }}
            out
        }}
        """,
        engine,
    )
    with pytest.raises(PluginError, match=message):
        plugin.call_custom_method("f", "")
    assert message in plugin.call_custom_method("caught", "")
    assert engine.jrpc_calls == []


@pytest.mark.parametrize(
    ("request_map", "message"),
    [
        ("#{}", "url"),
        ('#{url: "u", headers: 5}', "unsupported jrpc headers type"),
        ('#{url: "u", headers: [["a", "b", "c"]]}', "unsupported jrpc headers type"),
    ],
)
def test_run_rest_request_errors(plugin_from, request_map, message):
    engine = FakeEngine()
    plugin = plugin_from(f"fn f() {{ run_rest({request_map}) }}", engine)
    with pytest.raises(PluginError, match=message):
        plugin.call_custom_method("f", "")
    assert engine.rest_calls == []


def test_request_maps_ignore_unknown_keys_and_take_map_headers(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from(
        """
        fn f() {
            run_jrpc(#{host: "h", method: "m", extra: 1, headers: #{"x-a": "1"}});
            run_rest(#{url: "u", method: "POST", headers: #{"x-b": "2"}});
            ""
        }
        """,
        engine,
    )
    plugin.call_custom_method("f", "")
    assert engine.jrpc_calls == [(JrpcRequest(host="h", method="m", headers=[("x-a", "1")]), None)]
    assert engine.rest_calls == [(RestRequest(url="u", headers=[("x-b", "2")]), None)]


def test_timeout_overloads_pass_seconds_or_none(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from(
        """
        fn f() {
            run_jrpc(#{host: "h", method: "m"});
            run_jrpc(#{host: "h", method: "m"}, 7);
            run_rest(#{url: "u"});
            run_rest(#{url: "u"}, 0);
            run_sh("a");
            run_sh("b", 30);
            ""
        }
        """,
        engine,
    )
    plugin.call_custom_method("f", "")
    assert [timeout for _, timeout in engine.jrpc_calls] == [None, 7]
    assert [timeout for _, timeout in engine.rest_calls] == [None, 0]
    assert engine.sh_calls == [("a", None), ("b", 30)]


@pytest.mark.parametrize(
    "call", ['run_sh("x", -1)', 'run_rest(#{url: "u"}, -5)', 'run_jrpc(#{host: "h", method: "m"}, -1)']
)
def test_negative_timeout_is_an_error(plugin_from, call):
    engine = FakeEngine()
    plugin = plugin_from(f"fn f() {{ {call} }}", engine)
    with pytest.raises(PluginError, match="timeout"):
        plugin.call_custom_method("f", "")
    assert engine.sh_calls == engine.rest_calls == engine.jrpc_calls == []


EXPECT_SCRIPT = """
    fn by_code(code) { run_rest(#{url: "u"}).expect(parse_json(code).code).to_json() }
    fn by_closure(limit) {
        let limit = parse_json(limit).limit;
        run_rest(#{url: "u"}).expect(|code| code < limit).to_json()
    }
    fn not_bool() { run_rest(#{url: "u"}).expect(|code| code) }
    fn unwrapped() { run_sh("x").unwrap() }
    fn fields() {
        let r = run_rest(#{url: "u"});
        let s = run_sh("x");
        r.status_code + "/" + r.body + "/" + s.exit_code + "/" + s.stdout + "/" + s.stderr
    }
"""


def test_expect_with_status_code(plugin_from):
    engine = FakeEngine(run_rest=HttpResponse(201, '{"b": [1], "a": null}'))
    plugin = plugin_from(EXPECT_SCRIPT, engine)
    assert plugin.call_custom_method("by_code", '{"code": 201}') == '{"a":null,"b":[1]}'
    with pytest.raises(PluginError, match="unexpected status_code: 201"):
        plugin.call_custom_method("by_code", '{"code": 200}')


def test_expect_with_closure(plugin_from):
    engine = FakeEngine(run_rest=HttpResponse(404, '{"found": false}'))
    plugin = plugin_from(EXPECT_SCRIPT, engine)
    assert plugin.call_custom_method("by_closure", '{"limit": 500}') == '{"found":false}'
    with pytest.raises(PluginError, match="unexpected status_code: 404"):
        plugin.call_custom_method("by_closure", '{"limit": 400}')
    with pytest.raises(PluginError, match="bool"):
        plugin.call_custom_method("not_bool", "")


def test_unwrap_returns_stdout_verbatim(plugin_from):
    engine = FakeEngine(run_sh=ShResponse(0, "line one\nline two\n", "warning"))
    plugin = plugin_from(EXPECT_SCRIPT, engine)
    assert plugin.call_custom_method("unwrapped", "") == "line one\nline two\n"
    engine.on_run_sh = ShResponse(2, "partial", "failed")
    with pytest.raises(PluginError, match="unexpected exit_code: 2"):
        plugin.call_custom_method("unwrapped", "")


def test_response_fields(plugin_from):
    engine = FakeEngine(run_rest=HttpResponse(503, "down"), run_sh=ShResponse(1, "out", "err"))
    assert plugin_from(EXPECT_SCRIPT, engine).call_custom_method("fields", "") == "503/down/1/out/err"


def test_get_secret_not_found_convention(plugin_from):
    engine = FakeEngine(secrets={"present": b"value"})
    plugin = plugin_from(
        """
        fn secret(name) {
            let out = "";
            try {
                out = get_secret(name).as_string();
            } catch (err) {
                out = if err == "not_found" { "<not found>" } else { "<error: " + err + ">" };
            }
            out
        }
        fn uncaught() { get_secret("absent") }
        """,
        engine,
    )
    assert plugin.call_custom_method("secret", "present") == "value"
    assert plugin.call_custom_method("secret", "absent") == "<not found>"
    with pytest.raises(PluginError) as error:
        plugin.call_custom_method("uncaught", "")
    assert error.value.__cause__.value == "not_found"
    engine.get_secret = failing("secret store unreachable")
    assert plugin.call_custom_method("secret", "present") == "<error: secret store unreachable>"


def test_secrets_and_files_are_blobs(plugin_from):
    engine = FakeEngine(files={"/etc/in": b"\x00\xffbin"})
    plugin = plugin_from(
        """
        fn f() {
            put_secret("k", "v".to_blob());
            file_write("/etc/out", file_read("/etc/in"));
            type_of(file_read("/etc/in")) + ":" + file_read("/etc/in").len()
        }
        """,
        engine,
    )
    assert plugin.call_custom_method("f", "") == "blob:5"
    assert engine.secrets == {"k": b"v"}
    assert engine.files[Path("/etc/out")] == b"\x00\xffbin"


def test_render_template_sends_params_as_sorted_compact_json(plugin_from):
    engine = FakeEngine()
    sent = []
    engine.render_template = lambda template, destination, params_json: sent.append(
        (template, destination, params_json)
    )
    plugin = plugin_from(
        """
        fn f() {
            render_template("/t/config.tmpl", "/etc/out.cfg", #{
                zeta: [1, (), "say \\"hi\\""], alpha: #{ on: true, ratio: 1.5 }, name: "ünï"
            });
            ""
        }
        """,
        engine,
    )
    plugin.call_custom_method("f", "")
    assert sent == [
        (
            Path("/t/config.tmpl"),
            Path("/etc/out.cfg"),
            '{"alpha":{"on":true,"ratio":1.5},"name":"ünï","zeta":[1,null,"say \\"hi\\""]}',
        )
    ]


def test_render_template_failure_is_a_script_error(plugin_from):
    engine = FakeEngine()
    engine.render_template = failing("failed to render template file with: no such template")
    plugin = plugin_from('fn f() { render_template("t", "d", #{}) }', engine)
    with pytest.raises(PluginError, match="failed to render template file with: no such template"):
        plugin.call_custom_method("f", "")


def test_node_env_and_node_params(plugin_from):
    env = NodeEnv(
        node_id="id-1",
        node_name="my node",
        node_org_id="org",
        node_version="1.2.3",
        node_protocol="eth",
        node_variant="main",
        node_ip="10.0.0.2",
        node_gateway="10.0.0.1",
        dev_mode=True,
        bv_host_id="host-id",
        bv_host_name="host",
        bv_api_url="https://api",
        data_mount_point="/blockjoy",
        protocol_data_path="/blockjoy/protocol_data",
    )
    engine = FakeEngine(node_env=env, node_params={"network": "mainnet", "empty": ""})
    plugin = plugin_from(
        """
        fn env() { node_env().to_json() }
        fn params() { node_params().to_json() }
        fn missing() { "[" + node_params()["nope"] + "]" }
        fn dev() { type_of(node_env().dev_mode) + ":" + node_env().dev_mode }
        """,
        engine,
    )
    assert plugin.call_custom_method("env", "") == (
        '{"bv_api_url":"https://api","bv_host_id":"host-id","bv_host_name":"host",'
        '"data_mount_point":"/blockjoy","dev_mode":true,"node_gateway":"10.0.0.1","node_id":"id-1",'
        '"node_ip":"10.0.0.2","node_name":"my node","node_org_id":"org","node_protocol":"eth",'
        '"node_variant":"main","node_version":"1.2.3","protocol_data_path":"/blockjoy/protocol_data"}'
    )
    assert plugin.call_custom_method("params", "") == '{"empty":"","network":"mainnet"}'
    assert plugin.call_custom_method("missing", "") == "[]"
    assert plugin.call_custom_method("dev", "") == "bool:true"


def test_debug_logs_the_debug_text_and_levels_log_verbatim(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from(
        """
        fn f() {
            debug("quoted");
            debug(42);
            debug([1, "a", ()]);
            info("info \\"as is\\"");
            warn("warn\\nmultiline");
            error("");
            ""
        }
        """,
        engine,
    )
    plugin.call_custom_method("f", "")
    assert engine.logs == [
        ("debug", '"quoted"'),
        ("debug", "42"),
        ("debug", '[1, "a", ()]'),
        ("info", 'info "as is"'),
        ("warn", "warn\nmultiline"),
        ("error", ""),
    ]


def test_job_config_errors_are_script_errors(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from(
        """
        fn bad_config() { start_job("j", #{job_type: #{run_sh: 5}, restart: "never"}) }
        fn bad_restart() { create_job("j", #{job_type: #{run_sh: "x"}, restart: "sometimes"}) }
        fn empty_name() { create_job("  ", #{job_type: #{run_sh: "x"}, restart: "never"}) }
        fn unknown() { start_job("nope") }
        """,
        engine,
    )
    with pytest.raises(PluginError, match=r"job_type\.run_sh"):
        plugin.call_custom_method("bad_config", "")
    with pytest.raises(PluginError, match="restart"):
        plugin.call_custom_method("bad_restart", "")
    with pytest.raises(PluginError, match="empty job name is not allowed"):
        plugin.call_custom_method("empty_name", "")
    with pytest.raises(PluginError, match="can't start, job 'nope' not found"):
        plugin.call_custom_method("unknown", "")
    # start_job(name, config) does not start what it could not create.
    assert engine.created == []
    assert engine.started == []


def test_add_task_schedule_errors_reach_the_script(plugin_from):
    engine = FakeEngine()
    plugin = plugin_from('fn f() { add_task("t", "* * *", "g") }', engine)
    with pytest.raises(PluginError, match="invalid cron schedule"):
        plugin.call_custom_method("f", "")
    assert engine.tasks == {}
