"""Tests of the Python example protocol, loaded the way a host loads it: by the name of the entry point
that the installed distribution `blockvisor-example-protocol` declares."""

import json
import time
from importlib.metadata import distribution
from pathlib import Path

import attrs
import pytest
from example_protocol import protocol

from babel_api import (
    HttpResponse,
    JobConfig,
    JobStatus,
    JobType,
    JrpcRequest,
    NodeEnv,
    NodeHealth,
    PluginError,
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
    ShResponse,
    load_protocol_plugin,
    load_python_plugin,
)
from babel_api.models import Compression
from babel_api.testing import FakeEngine

ENTRY_POINT = "example-python"

NODE_ENV = NodeEnv(
    node_id="node_id",
    node_name="node name",
    node_variant="sepolia",
    protocol_data_path="/blockjoy/protocol_data",
)

GETH = JobConfig(
    job_type=JobType.run_sh(
        "geth --sepolia --config /etc/geth/config.toml --datadir /blockjoy/protocol_data/geth"
        ' --authrpc.jwtsecret /blockjoy/protocol_data/jwt/jwt.hex --port 30303 --cache "4096"'
    ),
    restart=RestartPolicy.always(RestartConfig(60000, 1000)),
    shutdown_timeout_secs=180,
    needs=["download"],
    wait_for=[],
    log_buffer_capacity_mb=256,
    log_timestamp=True,
    use_protocol_data=True,
)


def rpc_answers(results: dict[str, object]):
    """A `run_jrpc` answer: the JSON-RPC result for each method, from `results`."""

    def answer(request: JrpcRequest, timeout: float | None) -> HttpResponse:
        return HttpResponse(200, json.dumps({"jsonrpc": "2.0", "id": 0, "result": results[request.method]}))

    return answer


@pytest.fixture
def engine(fake_engine: FakeEngine) -> FakeEngine:
    fake_engine.env = NODE_ENV
    return fake_engine


@pytest.fixture
def plugin(engine):
    return load_python_plugin(ENTRY_POINT, engine)


def test_the_distribution_declares_the_entry_point():
    (entry_point,) = [
        ep
        for ep in distribution("blockvisor-example-protocol").entry_points
        if ep.group == "blockvisor.protocols"
    ]
    assert (entry_point.name, entry_point.value) == (ENTRY_POINT, "example_protocol.protocol")


def test_loaded_by_entry_point_name(plugin):
    assert plugin.origin == "blockvisor.protocols:example-python"
    assert plugin.manager.is_registered(protocol)


def test_loaded_by_the_python_plugin_fixture(python_plugin, fake_engine):
    fake_engine.env = NODE_ENV
    assert python_plugin(ENTRY_POINT).name() == "node name"


def test_loaded_as_a_node_image_names_it(engine, tmp_path: Path):
    plugin = load_protocol_plugin({"loader": "python", "entry_point": ENTRY_POINT}, tmp_path, engine)
    assert plugin.manager.is_registered(protocol)


def test_an_entry_point_that_is_not_installed(engine):
    with pytest.raises(
        PluginError, match=r"no Python protocol plugin 'example-pyton' is installed .*example-python"
    ):
        load_python_plugin("example-pyton", engine)


def test_capabilities(plugin):
    names = ["protocol_status", "height", "block_age", "name", "peers", "set_log_level"]
    assert plugin.capabilities() == names
    # Once the config is known, the host's default init and upload are offered too.
    plugin.reload_plugin_config()
    assert plugin.capabilities() == [*names, "upload", "init"]


def test_init_runs_the_default_init_with_the_plugin_config(plugin, engine):
    plugin.init()

    (saved,) = engine.saved_configs
    assert [service.name for service in saved.services] == ["geth"]
    assert engine.stop_all_calls == 1
    assert engine.templates == [
        (
            Path("/var/lib/babel/templates/geth.toml"),
            Path("/etc/geth/config.toml"),
            {"data_dir": "/blockjoy/protocol_data/geth", "network": "sepolia", "node_name": "node name"},
        )
    ]
    assert engine.sh_calls == [("mkdir -p /blockjoy/protocol_data/geth /blockjoy/protocol_data/jwt", None)]
    # No archive: the alternative download initialises the chain from its genesis.
    assert engine.created == [
        (
            "create_jwt",
            JobConfig(
                job_type=JobType.run_sh("openssl rand -hex 32 > /blockjoy/protocol_data/jwt/jwt.hex"),
                restart=RestartPolicy.never(),
                needs=[],
                use_protocol_data=True,
                one_time=True,
            ),
        ),
        (
            "download",
            JobConfig(
                job_type=JobType.run_sh(
                    "geth --sepolia --datadir /blockjoy/protocol_data/geth init /etc/geth/genesis.json"
                ),
                restart=RestartPolicy.on_failure(RestartConfig(60000, 5000, 3)),
                needs=["create_jwt"],
            ),
        ),
        ("geth", GETH),
    ]
    assert engine.started == ["create_jwt", "download", "geth"]
    assert engine.tasks == {"log_peers": ("0 */10 * * * *", "peers", "")}


def test_init_downloads_the_archive_when_there_is_one(plugin, engine):
    engine.has_archive = True
    plugin.init()
    assert engine.jobs["download"].job_type == JobType.download()
    assert engine.jobs["geth"] == GETH


def test_cache_size_from_a_node_property(plugin, engine):
    engine.params = {"cache-mb": "16384"}
    plugin.init()
    assert engine.jobs["geth"].job_type.data.endswith('--cache "16384"')


def test_a_node_property_that_is_unsafe_in_a_shell(plugin, engine):
    engine.params = {"cache-mb": "1; reboot"}
    with pytest.raises(ValueError, match="Shell unsafe character detected: ;"):
        plugin.init()
    assert engine.created == []


def test_upload_runs_the_default_upload(plugin, engine):
    plugin.init()
    engine.created.clear()
    plugin.upload()

    assert engine.stopped == ["geth"]
    assert engine.created == [
        (
            "upload",
            JobConfig(
                job_type=JobType.upload(
                    exclude=["geth/nodes/**", "geth/LOCK"], compression=Compression.zstd(3)
                ),
                restart=RestartPolicy.on_failure(RestartConfig(600000, 500, 10)),
                needs=[],
            ),
        ),
        ("geth", attrs.evolve(GETH, needs=[], wait_for=["upload"])),
    ]


@pytest.mark.parametrize(
    ("syncing", "peers", "expected"),
    [
        (False, "0x19", ProtocolStatus("broadcasting", NodeHealth.HEALTHY)),
        (
            {"currentBlock": "0x10", "highestBlock": "0x20"},
            "0x19",
            ProtocolStatus("syncing", NodeHealth.NEUTRAL),
        ),
        (False, "0x0", ProtocolStatus("no peers", NodeHealth.UNHEALTHY)),
    ],
)
def test_protocol_status(plugin, engine, syncing, peers, expected):
    engine.on_run_jrpc = rpc_answers({"eth_syncing": syncing, "net_peerCount": peers})
    assert plugin.protocol_status() == expected
    assert engine.jrpc_calls == [
        (JrpcRequest(host="http://127.0.0.1:8545", method="eth_syncing"), 5),
        (JrpcRequest(host="http://127.0.0.1:8545", method="net_peerCount"), 5),
    ]


def test_protocol_status_of_a_node_that_does_not_answer(plugin, engine):
    engine.on_run_jrpc = HttpResponse(502, "Bad Gateway")
    assert plugin.protocol_status() == ProtocolStatus("unreachable", NodeHealth.UNHEALTHY)
    assert engine.logs == [("warn", "protocol_status: eth_syncing: unexpected status_code: 502")]


def test_protocol_status_while_downloading(plugin, engine):
    plugin.init()
    engine.jobs_info = {"download": JobStatus.running()}
    assert plugin.protocol_status() == ProtocolStatus("downloading", NodeHealth.NEUTRAL)
    assert engine.jrpc_calls == []


def test_height(plugin, engine):
    engine.on_run_jrpc = rpc_answers({"eth_blockNumber": "0xa1"})
    assert plugin.height() == 161


def test_height_on_a_json_rpc_error(plugin, engine):
    engine.on_run_jrpc = HttpResponse(
        200, '{"jsonrpc": "2.0", "id": 0, "error": {"code": -32000, "message": "busy"}}'
    )
    with pytest.raises(protocol.RpcError, match="eth_blockNumber: busy"):
        plugin.height()


def test_block_age(plugin, engine):
    engine.on_run_jrpc = rpc_answers({"eth_getBlockByNumber": {"timestamp": hex(int(time.time()) - 12)}})
    assert 12 <= plugin.block_age() <= 15
    ((request, _),) = engine.jrpc_calls
    assert request.params == '["latest",false]'


def test_block_age_before_the_first_block(plugin, engine):
    engine.on_run_jrpc = rpc_answers({"eth_getBlockByNumber": None})
    assert plugin.block_age() == 0


def test_peers(plugin, engine):
    engine.on_run_jrpc = rpc_answers({"net_peerCount": "0x19"})
    assert plugin.call_custom_method("peers", "") == "25"
    assert engine.logs == [("info", "25 peers")]


def test_set_log_level(plugin, engine):
    assert plugin.call_custom_method("set_log_level", "debug") == "log level set to debug"
    assert engine.sh_calls == [
        ('geth attach --exec "debug.verbosity(4)" /blockjoy/protocol_data/geth/geth.ipc', None)
    ]


def test_set_log_level_failures(plugin, engine):
    with pytest.raises(ValueError, match="expected one of error, warn, info, debug, trace, got 'loud'"):
        plugin.call_custom_method("set_log_level", "loud")
    engine.on_run_sh = ShResponse(1, "", "Fatal: no such file\n")
    with pytest.raises(RuntimeError, match=r"geth attach failed: Fatal: no such file$"):
        plugin.call_custom_method("set_log_level", "info")


def test_unknown_method(plugin):
    with pytest.raises(PluginError, match="no matching method 'consensus_key' found"):
        plugin.call_custom_method("consensus_key", "")


def test_hooks_it_does_not_implement(plugin):
    with pytest.raises(PluginError, match="does not implement address"):
        plugin.address()
