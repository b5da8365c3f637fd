"""The test kit: FakeEngine's answers and recordings, the quoting rules of sanitize_sh_param, the fixtures.

The fixtures `fake_engine`, `rhai_plugin` and `python_plugin` are used here without an import: they come
from the `pytest11` entry point, as in a protocol team's tests.
"""

import datetime
from pathlib import Path

import pytest

import babel_api
from babel_api.engine import Engine
from babel_api.models import (
    HttpResponse,
    JobConfig,
    JobInfo,
    JobStatus,
    JobType,
    JrpcRequest,
    NodeEnv,
    RestartPolicy,
    RestRequest,
    ShResponse,
    Timestamp,
)
from babel_api.plugin_config import PluginConfig
from babel_api.shell import sanitize_sh_param
from babel_api.testing import MAX_JOBS, FakeEngine


def run_sh_job(body="echo", needs=None, wait_for=None):
    return JobConfig(
        job_type=JobType.run_sh(body), restart=RestartPolicy.never(), needs=needs, wait_for=wait_for
    )


# -- sanitize_sh_param ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "quoted"),
    [
        ("", '""'),
        ("abcXYZ019", '"abcXYZ019"'),
        ("żółć Ωμέγα日本語٣", '"żółć Ωμέγα日本語٣"'),
        ("/ : { } , - _ .", '"/ : { } , - _ ."'),
        ("https://host:8545/path_a-b.c", '"https://host:8545/path_a-b.c"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("two\nlines", '"two\\nlines"'),
        ('{"a":"b"}', '"{\\"a\\":\\"b\\"}"'),
    ],
)
def test_sanitize_keeps_safe_characters_inside_double_quotes(param, quoted):
    assert sanitize_sh_param(param) == quoted


def test_sanitize_refuses_a_single_quote_with_its_own_message():
    with pytest.raises(ValueError) as error:
        sanitize_sh_param("it's")

    assert str(error.value) == "Very unsafe subsitution >:( '"


@pytest.mark.parametrize("char", [*"\t\r$`;&|=+@%()[]\\!?*#~<>^\x00", "\xa0", "\u2028"])
def test_sanitize_refuses_shell_unsafe_characters(char):
    with pytest.raises(ValueError) as error:
        sanitize_sh_param(f"ok{char}ok")

    assert str(error.value) == f"Shell unsafe character detected: {char}"


def test_sanitize_names_the_first_unsafe_character():
    with pytest.raises(ValueError, match=r"detected: \$$"):
        sanitize_sh_param("a$b;c")


def test_fake_engine_sanitizes_with_the_real_rules():
    engine = FakeEngine()

    assert engine.sanitize_sh_param("main net") == '"main net"'
    with pytest.raises(ValueError, match="Shell unsafe character detected: ;"):
        engine.sanitize_sh_param("x; rm -rf /")


# -- FakeEngine ---------------------------------------------------------------------------------------------


def test_fake_engine_is_an_engine():
    assert isinstance(FakeEngine(), Engine)


def test_jobs_follow_babel_states():
    engine = FakeEngine()
    engine.create_job("a", run_sh_job(needs=["x"], wait_for=["y"]))

    assert engine.job_info("a").status == JobStatus.stopped()
    engine.start_job("a")
    assert engine.job_info("a").status == JobStatus.pending(["x", "y"])
    engine.stop_job("a")
    assert engine.job_info("a").status == JobStatus.stopped()
    engine.start_job("a")
    engine.start_job("a")
    assert engine.get_jobs() == {
        "a": JobInfo(status=JobStatus.pending(["x", "y"]), timestamp=Timestamp(0, 0))
    }
    assert engine.started == ["a", "a", "a"]
    assert engine.stopped == ["a"]


def test_recreating_a_job_replaces_it_and_stops_it():
    engine = FakeEngine()
    first, second = run_sh_job("one"), run_sh_job("two")
    engine.create_job("a", first)
    engine.create_job("b", first)
    engine.start_job("a")

    engine.create_job("a", second)

    assert list(engine.jobs.items()) == [("b", first), ("a", second)]
    assert engine.created == [("a", first), ("b", first), ("a", second)]
    assert engine.job_info("a").status == JobStatus.stopped()


def test_stop_all_jobs():
    engine = FakeEngine()
    for name in ("a", "b"):
        engine.create_job(name, run_sh_job())
        engine.start_job(name)

    engine.stop_all_jobs()

    assert engine.stop_all_calls == 1
    assert {name: info.status for name, info in engine.get_jobs().items()} == {
        "a": JobStatus.stopped(),
        "b": JobStatus.stopped(),
    }


def test_cleanup_job_is_recorded():
    engine = FakeEngine()
    engine.create_job("a", run_sh_job())

    engine.cleanup_job("a")

    assert engine.cleaned_up == ["a"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda engine: engine.start_job("nope"), "can't start, job 'nope' not found"),
        (lambda engine: engine.stop_job("nope"), "job 'nope' not found"),
        (lambda engine: engine.cleanup_job("nope"), "job 'nope' not found"),
        (lambda engine: engine.job_info("nope"), "job 'nope' not found"),
    ],
)
def test_unknown_jobs_are_errors(call, message):
    with pytest.raises(RuntimeError) as error:
        call(FakeEngine())

    assert str(error.value) == message


def test_job_names_are_trimmed_and_must_not_be_empty():
    engine = FakeEngine()

    engine.create_job("  a \n", run_sh_job())
    with pytest.raises(ValueError, match=r"^empty job name is not allowed$"):
        engine.create_job("  ", run_sh_job())

    assert list(engine.jobs) == ["a"]


def test_a_download_job_needs_a_protocol_archive():
    download = JobConfig(job_type=JobType.download(), restart=RestartPolicy.never())

    with pytest.raises(RuntimeError, match=r"^manifest not available"):
        FakeEngine().create_job("download", download)

    engine = FakeEngine(has_protocol_archive=True)
    engine.create_job("download", download)
    assert engine.jobs == {"download": download}


def test_at_most_max_jobs():
    engine = FakeEngine()
    for index in range(MAX_JOBS):
        engine.create_job(f"job{index}", run_sh_job())

    engine.create_job("job0", run_sh_job("replaced"))
    with pytest.raises(RuntimeError, match=f"^Exceeded max number of supported jobs: {MAX_JOBS}$"):
        engine.create_job("one_more", run_sh_job())

    assert len(engine.jobs) == MAX_JOBS


def test_jobs_info_overrides_job_answers():
    running = JobInfo(status=JobStatus.running(), timestamp=Timestamp(5, 6), upgrade_blocking=True)
    engine = FakeEngine(jobs_info={"download": running, "service": JobStatus.pending([])})
    engine.create_job("recorded", run_sh_job())

    assert engine.get_jobs() == {
        "download": running,
        "service": JobInfo(status=JobStatus.pending([]), timestamp=Timestamp(0, 0)),
    }
    assert engine.job_info("download") == running
    with pytest.raises(RuntimeError, match="job 'recorded' not found"):
        engine.job_info("recorded")


def test_jobs_info_callable_gives_successive_answers():
    answers = iter([{"upload": JobStatus.running()}, {}])
    engine = FakeEngine(jobs_info=answers.__next__)

    assert list(engine.get_jobs()) == ["upload"]
    assert engine.get_jobs() == {}


def test_default_command_and_call_answers_and_their_recording():
    engine = FakeEngine()
    jrpc = JrpcRequest(host="http://localhost:8545", method="eth_blockNumber")
    rest = RestRequest(url="http://localhost/status", headers=[("accept", "application/json")])

    assert engine.run_sh("echo hi") == ShResponse(0, "", "")
    assert engine.run_sh("sleep 1", 3) == ShResponse(0, "", "")
    assert engine.run_jrpc(jrpc) == HttpResponse(200, "")
    assert engine.run_rest(rest, 2.5) == HttpResponse(200, "")

    assert engine.sh_calls == [("echo hi", None), ("sleep 1", 3)]
    assert engine.jrpc_calls == [(jrpc, None)]
    assert engine.rest_calls == [(rest, 2.5)]


def test_canned_answers_as_values_or_callables():
    def jrpc(request, timeout):
        return HttpResponse(200, f'{{"method": "{request.method}", "timeout": {timeout}}}')

    def rest(request, timeout):
        raise TimeoutError(f"{request.url} timed out")

    engine = FakeEngine(run_sh=ShResponse(0, "addr", ""), run_jrpc=jrpc, run_rest=rest)

    assert engine.run_sh("cat address").stdout == "addr"
    assert engine.run_jrpc(JrpcRequest(host="h", method="m"), 1).body == '{"method": "m", "timeout": 1}'
    with pytest.raises(TimeoutError, match=r"^u timed out$"):
        engine.run_rest(RestRequest(url="u"))
    engine.on_run_sh = lambda body, timeout: ShResponse(1, "", body)
    assert engine.run_sh("boom") == ShResponse(1, "", "boom")


def test_render_template_records_without_touching_the_disk(tmp_path):
    engine = FakeEngine()
    destination = tmp_path / "etc" / "service.config"

    engine.render_template(Path("/t/config.template"), destination, '{"node_name":"node name","n":[1]}')

    assert engine.templates == [
        (Path("/t/config.template"), destination, {"node_name": "node name", "n": [1]})
    ]
    assert not destination.parent.exists()


@pytest.mark.parametrize("params_json", ["[1, 2]", "not json"])
def test_render_template_needs_a_json_object(params_json):
    with pytest.raises(ValueError, match=r"^failed to render template file with: "):
        FakeEngine().render_template(Path("t"), Path("d"), params_json)


def test_node_params_and_env():
    env = NodeEnv(node_id="node_id", node_name="node name", node_variant="main")
    engine = FakeEngine(node_env=env, node_params={"network": "main"})

    assert engine.node_env() == env
    params = engine.node_params()
    params["network"] = "changed"
    assert engine.node_params() == {"network": "main"}
    assert FakeEngine().node_env() == NodeEnv()
    assert FakeEngine().node_params() == {}


def test_data():
    engine = FakeEngine()

    with pytest.raises(FileNotFoundError):
        engine.load_data()
    engine.save_data("some plugin data")

    assert engine.load_data() == "some plugin data"
    assert engine.data == "some plugin data"
    assert FakeEngine(data="kept").load_data() == "kept"


def test_config():
    persisted = PluginConfig.from_script({"services": []})
    reloaded = PluginConfig.from_script({"services": [{"name": "a", "run_sh": "echo"}]})
    engine = FakeEngine(config=persisted)

    assert engine.load_config() is persisted
    engine.save_config(reloaded)

    assert engine.load_config() is reloaded
    assert engine.saved_configs == [reloaded]
    assert FakeEngine().load_config() is None


def test_secrets():
    engine = FakeEngine(secrets={"given": b"s1"})

    assert engine.get_secret("absent") is None
    engine.put_secret("made", bytearray(b"s2"))

    assert engine.get_secret("given") == b"s1"
    assert engine.secrets == {"given": b"s1", "made": b"s2"}


def test_files():
    engine = FakeEngine(files={"/etc/given": b"given"})

    engine.file_write(Path("/file/path"), b"file content")

    assert engine.file_read(Path("/etc/given")) == b"given"
    assert engine.file_read(Path("/file/path")) == b"file content"
    assert engine.files == {Path("/etc/given"): b"given", Path("/file/path"): b"file content"}
    with pytest.raises(FileNotFoundError, match="/no/such/file"):
        engine.file_read(Path("/no/such/file"))


def test_protocol_data_answers():
    stamp = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)

    assert FakeEngine().protocol_data_stamp() is None
    assert FakeEngine().has_protocol_archive() is False
    assert FakeEngine(protocol_data_stamp=stamp).protocol_data_stamp() == stamp
    assert FakeEngine(has_protocol_archive=True).has_protocol_archive() is True


def test_logs():
    engine = FakeEngine()

    for level in ("debug", "info", "warn", "error"):
        engine.log(level, f"{level} message")
    with pytest.raises(ValueError, match="unknown log level 'trace'"):
        engine.log("trace", "too fine")

    assert engine.logs == [
        ("debug", "debug message"),
        ("info", "info message"),
        ("warn", "warn message"),
        ("error", "error message"),
    ]


def test_tasks():
    engine = FakeEngine()

    engine.add_task("a", "* * * * * * *", "fn_a", "param")
    engine.add_task("b", "0 0 * * * *", "fn_b", "")
    engine.add_task("a", "0 * * * * *", "fn_a2", "")
    engine.delete_task("b")

    assert engine.tasks == {"a": ("0 * * * * *", "fn_a2", "")}


def test_tasks_need_a_six_or_seven_field_schedule():
    with pytest.raises(ValueError, match=r"^invalid cron schedule '\* \* \* \* \*': expected 6 or 7 fields"):
        FakeEngine().add_task("a", "* * * * *", "fn", "")


# -- fixtures ---------------------------------------------------------------------------------------------


def test_fake_engine_fixture(fake_engine):
    assert isinstance(fake_engine, FakeEngine)
    assert fake_engine.node_env() == NodeEnv()
    assert fake_engine.jobs == {}


@pytest.fixture
def loaders(monkeypatch):
    """Stand-ins for the plugin loaders, recording what the fixtures pass them."""
    calls = []

    def load(plugin, engine):
        calls.append((plugin, engine))
        return "plugin"

    monkeypatch.setattr(babel_api, "load_rhai_plugin", load, raising=False)
    monkeypatch.setattr(babel_api, "load_python_plugin", load, raising=False)
    return calls


def test_rhai_plugin_fixture_loads_on_fake_engine(rhai_plugin, fake_engine, loaders):
    env = NodeEnv(node_name="node name")

    assert rhai_plugin("plugins/chain", node_env=env, node_params={"network": "main"}) == "plugin"

    assert loaders == [(Path("plugins/chain"), fake_engine)]
    assert fake_engine.node_env() == env
    assert fake_engine.node_params() == {"network": "main"}


def test_rhai_plugin_fixture_with_an_engine(rhai_plugin, loaders):
    engine = FakeEngine()

    rhai_plugin(Path("chain"), engine)

    assert loaders == [(Path("chain"), engine)]
    with pytest.raises(TypeError, match="node_env and node_params configure fake_engine"):
        rhai_plugin("chain", engine, node_params={"a": "b"})


def test_python_plugin_fixture(python_plugin, fake_engine, loaders):
    engine = FakeEngine()

    python_plugin("my_protocol")
    python_plugin(object, engine)

    assert loaders == [("my_protocol", fake_engine), (object, engine)]


RHAI_PLUGIN = """
fn plugin_config() {
    #{
        init: #{ commands: [`mkdir -p ${node_env().protocol_data_path}`], jobs: [] },
        services: [#{ name: "node", run_sh: `node --network=${node_params().network}` }],
    }
}

fn height() {
    let reply = run_jrpc(#{ host: "http://localhost:8545", method: "eth_blockNumber" }).expect(200);
    parse_hex(reply.result)
}
"""


def test_rhai_plugin_fixture_runs_a_real_plugin(rhai_plugin, fake_engine, tmp_path):
    (tmp_path / "main.rhai").write_text(RHAI_PLUGIN)
    fake_engine.on_run_jrpc = HttpResponse(200, '{"result": "0xa1"}')
    env = NodeEnv(protocol_data_path="/blockjoy/protocol_data")

    plugin = rhai_plugin(tmp_path, node_env=env, node_params={"network": "main"})
    plugin.init()

    assert fake_engine.sh_calls == [("mkdir -p /blockjoy/protocol_data", None)]
    assert fake_engine.started == ["node"]
    assert fake_engine.jobs["node"].job_type == JobType.run_sh("node --network=main")
    assert plugin.height() == 161
    request = JrpcRequest(host="http://localhost:8545", method="eth_blockNumber")
    assert fake_engine.jrpc_calls == [(request, None)]


def test_python_plugin_fixture_runs_a_real_plugin(python_plugin, fake_engine):
    class Protocol:
        @babel_api.hookimpl
        def height(self, engine):
            return int(engine.run_sh("cat /height").stdout)

    fake_engine.on_run_sh = ShResponse(0, "42", "")

    assert python_plugin(Protocol()).height() == 42
    assert fake_engine.sh_calls == [("cat /height", None)]


def test_the_kit_is_a_registered_pytest_plugin(pytestconfig):
    import babel_api.testing

    assert pytestconfig.pluginmanager.get_plugin("babel_api") is babel_api.testing
