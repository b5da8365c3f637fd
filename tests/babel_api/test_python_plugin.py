"""A protocol plugin written in Python: an object or module with `@babel_api.hookimpl` functions, loaded with
`babel_api.load_python_plugin` on a recording FakeEngine."""

import sys
import textwrap
import types

import pytest

import babel_api
from babel_api import (
    HttpResponse,
    JobType,
    NodeHealth,
    PluginConfig,
    PluginConfigError,
    PluginError,
    ProtocolStatus,
    load_python_plugin,
)
from babel_api.testing import FakeEngine


class Chain:
    """A small but complete protocol: config-driven init, metrics over JSON-RPC, one custom method."""

    @babel_api.hookimpl
    def plugin_config(self, engine):
        network = engine.node_params().get("network", "mainnet")
        return {
            "init": {"commands": ["mkdir -p /data"], "jobs": [{"name": "keys", "run_sh": "make-keys"}]},
            "services": [{"name": "chaind", "run_sh": f"chaind --network {network}"}],
        }

    @babel_api.hookimpl
    def height(self, engine):
        body = engine.run_jrpc(babel_api.JrpcRequest(host="http://localhost", method="height")).body
        return int(body, 16)

    @babel_api.hookimpl
    def consensus(self):
        return False

    @babel_api.hookimpl
    def apr(self):
        return 4.5

    @babel_api.hookimpl
    def protocol_status(self):
        return {"state": "broadcasting", "health": "healthy"}

    @babel_api.hookimpl
    def call_custom_method(self, engine, name, param):
        if name == "greet":
            engine.log("info", f"greeting {param}")
            return f"hello {param}"
        return None


def test_init_runs_the_default_init_from_plugin_config():
    engine = FakeEngine(node_params={"network": "testnet"})
    plugin = load_python_plugin(Chain(), engine)
    plugin.init()
    assert engine.saved_configs == [plugin.config]
    assert isinstance(plugin.config, PluginConfig)
    assert engine.stop_all_calls == 1
    assert engine.sh_calls == [("mkdir -p /data", None)]
    assert engine.started == ["keys", "chaind"]
    assert engine.jobs["chaind"].job_type == JobType.run_sh("chaind --network testnet")
    assert engine.jobs["chaind"].needs == ["keys"]


def test_plugin_config_may_be_a_plugin_config_object():
    config = PluginConfig.from_script({"services": [{"name": "svc", "run_sh": "run"}]})

    class Typed:
        @babel_api.hookimpl
        def plugin_config(self):
            return config

    engine = FakeEngine()
    plugin = load_python_plugin(Typed(), engine)
    plugin.init()
    assert engine.saved_configs == [config]
    assert engine.started == ["svc"]


def test_plugin_config_is_validated_and_nothing_starts():
    class Invalid:
        @babel_api.hookimpl
        def plugin_config(self):
            return {"services": [{"name": "a", "run_sh": "x"}, {"name": "a", "run_sh": "y"}]}

    engine = FakeEngine()
    plugin = load_python_plugin(Invalid(), engine)
    with pytest.raises(PluginConfigError) as error:
        plugin.init()
    assert error.value.path == "services[1].name"
    assert engine.saved_configs == []
    assert engine.stop_all_calls == 0
    assert engine.created == []


def test_plugin_config_must_be_a_map():
    class Listy:
        @babel_api.hookimpl
        def plugin_config(self):
            return [{"name": "a", "run_sh": "x"}]

    with pytest.raises(PluginError, match=r"plugin_config\(\) must return a map"):
        load_python_plugin(Listy(), FakeEngine()).reload_plugin_config()


def test_own_init_and_upload_replace_the_defaults():
    class Own:
        def __init__(self):
            self.calls: list[str] = []

        @babel_api.hookimpl
        def plugin_config(self):
            return {"services": [{"name": "svc", "run_sh": "run"}]}

        @babel_api.hookimpl
        def init(self, engine, config):
            self.calls.append(f"init {[s.name for s in config.services]}")
            return True

        @babel_api.hookimpl
        def upload(self, engine, config):
            self.calls.append("upload")
            return True

    own = Own()
    engine = FakeEngine()
    plugin = load_python_plugin(own, engine)
    plugin.init()
    plugin.upload()
    assert own.calls == ["init ['svc']", "upload"]
    assert engine.stop_all_calls == 0
    assert engine.created == []


def test_metrics_and_protocol_status():
    engine = FakeEngine(run_jrpc=HttpResponse(200, "0xa1"))
    plugin = load_python_plugin(Chain(), engine)
    assert plugin.height() == 161
    assert plugin.consensus() is False
    assert plugin.apr() == 4.5
    assert plugin.protocol_status() == ProtocolStatus(state="broadcasting", health=NodeHealth.HEALTHY)
    assert engine.jrpc_calls[0][0].method == "height"


def test_protocol_status_shortcuts_apply_to_python_plugins():
    engine = FakeEngine(jobs_info={"download": babel_api.JobStatus.running()})
    plugin = load_python_plugin(Chain(), engine)
    assert plugin.protocol_status() == ProtocolStatus(state="downloading", health=NodeHealth.NEUTRAL)


def test_custom_methods():
    engine = FakeEngine()
    plugin = load_python_plugin(Chain(), engine)
    assert plugin.call_custom_method("greet", "world") == "hello world"
    assert engine.logs == [("info", "greeting world")]
    with pytest.raises(PluginError) as error:
        plugin.call_custom_method("unknown", "")
    assert str(error.value).endswith("no matching method 'unknown' found")


def test_capabilities_are_the_implemented_hooks():
    plugin = load_python_plugin(Chain(), FakeEngine())
    assert set(plugin.capabilities()) == {"height", "consensus", "apr", "protocol_status"}
    plugin.init()
    assert set(plugin.capabilities()) == {"height", "consensus", "apr", "protocol_status", "init", "upload"}


def test_capabilities_listed_by_the_plugin_itself():
    class Listing(Chain):
        @babel_api.hookimpl
        def capabilities(self):
            return ["height", "greet"]

    plugin = load_python_plugin(Listing(), FakeEngine())
    assert plugin.capabilities() == ["height", "greet"]


def test_module_plugin():
    module = types.ModuleType("my_chain_module")

    @babel_api.hookimpl
    def height():
        return 7

    @babel_api.hookimpl
    def name(engine):
        return engine.node_env().node_name

    module.height = height
    module.name = name
    engine = FakeEngine(node_env=babel_api.NodeEnv(node_name="node one"))
    plugin = load_python_plugin(module, engine)
    assert plugin.height() == 7
    assert plugin.name() == "node one"
    assert set(plugin.capabilities()) == {"height", "name"}
    assert plugin.origin == "my_chain_module"


@pytest.mark.parametrize(
    ("hook", "answer", "expected"),
    [
        ("height", "161", "a non-negative integer"),
        ("height", -1, "a non-negative integer"),
        ("height", True, "a non-negative integer"),
        ("height", 1.0, "a non-negative integer"),
        ("block_age", None, None),
        ("consensus", 1, "a bool"),
        ("consensus", "true", "a bool"),
        ("apr", 5, "a float"),
        ("apr", True, "a float"),
        ("jailed", "no", "a bool"),
        ("jailed_reason", 3, "a string"),
        ("name", b"bytes", "a string"),
        ("address", 0, "a string"),
    ],
)
def test_answers_are_type_checked(hook, answer, expected):
    plugin_object = types.SimpleNamespace()
    implementation = babel_api.hookimpl(lambda: answer)
    implementation.__name__ = hook
    setattr(plugin_object, hook, implementation)
    plugin = load_python_plugin(plugin_object, FakeEngine())
    with pytest.raises(PluginError) as error:
        getattr(plugin, hook)()
    if expected is None:
        assert f"does not implement {hook}()" in str(error.value)
    else:
        assert f"{hook}() must return {expected}" in str(error.value)


@pytest.mark.parametrize(
    "answer",
    [{"state": "ok"}, {"state": "ok", "health": "great"}, "broadcasting", ["ok", "healthy"]],
)
def test_protocol_status_answer_is_checked(answer):
    class Bad:
        @babel_api.hookimpl
        def protocol_status(self):
            return answer

    with pytest.raises(PluginError, match="protocol_status"):
        load_python_plugin(Bad(), FakeEngine()).protocol_status()


def test_protocol_status_may_be_a_protocol_status_object():
    class Typed:
        @babel_api.hookimpl
        def protocol_status(self):
            return ProtocolStatus(state="syncing", health=NodeHealth.NEUTRAL)

    status = load_python_plugin(Typed(), FakeEngine()).protocol_status()
    assert status == ProtocolStatus(state="syncing", health=NodeHealth.NEUTRAL)


def test_custom_method_must_return_a_string():
    class Numbers:
        @babel_api.hookimpl
        def call_custom_method(self, name):
            return 42

    with pytest.raises(PluginError, match=r"count\(\) must return a string"):
        load_python_plugin(Numbers(), FakeEngine()).call_custom_method("count", "")


def test_a_failing_hook_propagates_its_error():
    class Failing:
        @babel_api.hookimpl
        def height(self):
            raise ConnectionError("node unreachable")

    with pytest.raises(ConnectionError, match="node unreachable"):
        load_python_plugin(Failing(), FakeEngine()).height()


# -- entry points --------------------------------------------------------------------------------------------


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution declaring the entry point `fake_chain` of `blockvisor.protocols`, on sys.path."""
    (tmp_path / "fake_chain_plugin.py").write_text(
        textwrap.dedent(
            """
            import babel_api

            @babel_api.hookimpl
            def height():
                return 99
            """
        )
    )
    dist_info = tmp_path / "fake_chain-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-chain\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[blockvisor.protocols]\nfake_chain = fake_chain_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_chain_plugin", raising=False)
    yield "fake_chain"
    sys.modules.pop("fake_chain_plugin", None)


def test_load_by_entry_point_name(installed_plugin):
    plugin = load_python_plugin(installed_plugin, FakeEngine())
    assert plugin.height() == 99
    assert plugin.origin == "blockvisor.protocols:fake_chain"
    assert plugin.capabilities() == ["height"]


def test_unknown_entry_point_lists_the_installed_ones(installed_plugin):
    with pytest.raises(PluginError) as error:
        load_python_plugin("no_such_chain", FakeEngine())
    message = str(error.value)
    assert "'no_such_chain'" in message
    assert "blockvisor.protocols" in message
    assert "fake_chain" in message


def test_python_loader_of_a_node_image(installed_plugin, tmp_path):
    plugin = babel_api.load_protocol_plugin(
        {"loader": "python", "entry_point": installed_plugin}, tmp_path, FakeEngine()
    )
    assert plugin.height() == 99
    with pytest.raises(PluginError, match="entry_point"):
        babel_api.load_protocol_plugin({"loader": "python"}, tmp_path, FakeEngine())
