"""Tests of the example node image: its babel.yaml, its plugin on a fake engine, and its client for real.

`babel.yaml` is read and validated as the host does. The plugin tests run `plugin/main.rhai` with
`babel_api.testing`: what init creates, the answers to the host's questions from canned JSON-RPC
answers, the custom method and the scheduled task. The client tests start `example_node.py` as a
process on a free port and talk JSON-RPC to it over HTTP.
"""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import rhai

from babel_api import (
    HttpResponse,
    JobConfig,
    JobType,
    NodeEnv,
    NodeHealth,
    PluginError,
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
)
from babel_api.lint import check
from blockvisor_core.images import load_image, node_params, validate_image

IMAGE = Path(__file__).parents[1]
PLUGIN_DIR = IMAGE / "plugin"
SERVICE = IMAGE / "service" / "example_node.py"

#: The variant's properties at their babel.yaml defaults.
DEFAULTS = {"chain-name": "devnet", "archive": "off", "log-level": "info"}

#: A node isolated by its runtime (bwrap): the data folder is mounted at /blockjoy.
NODE_ENV = NodeEnv(
    node_id="5f0e9a3c-8d2b-4c1e-9f6a-2b7d3e4c5a61",
    node_name="demo-node",
    node_variant="example-devnet",
    data_mount_point="/blockjoy",
    protocol_data_path="/blockjoy/protocol_data",
)

#: The JSON-RPC address of NODE_ENV's client (its port derives from the node id).
RPC_HOST = "http://127.0.0.1:36402"

INIT_CHAIN = JobConfig(
    job_type=JobType.run_sh(
        'mkdir -p "/blockjoy/protocol_data/chain" && echo "devnet" > "/blockjoy/protocol_data/chain/name"'
    ),
    restart=RestartPolicy.never(),
    needs=[],
    use_protocol_data=True,
    one_time=True,
)
EXAMPLE_NODE = JobConfig(
    job_type=JobType.run_sh(
        'exec python3 "/blockjoy/service/example_node.py" --data-dir "/blockjoy/protocol_data"'
        ' --chain "devnet" --port 36402 --log-level "info"'
    ),
    restart=RestartPolicy.always(RestartConfig(60000, 1000, None)),
    shutdown_timeout_secs=10,
    needs=["init_chain"],
    wait_for=[],
    use_protocol_data=True,
)


def answers(*results: object):
    """A `run_jrpc` answer: status 200 with a JSON-RPC result per call, each of `results` in turn."""
    results_left = iter(results)
    return lambda request, timeout: HttpResponse(200, json.dumps({"id": 0, "result": next(results_left)}))


@pytest.fixture
def plugin(rhai_plugin):
    """The image's plugin on the fake engine, as a node of NODE_ENV with the default properties."""
    return rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV, node_params=DEFAULTS)


# -- babel.yaml -------------------------------------------------------------------------------------------


def test_babel_yaml():
    image = load_image(IMAGE)
    assert validate_image(image) == []
    assert (image.protocol_key, image.version) == ("example", "0.1.0")
    assert (image.plugin.path, image.rootfs.kind) == ("plugin", "host")
    variant = image.variant()
    assert (variant.key, variant.sku_code) == ("example-devnet", "EXM-DEV-N")
    assert (variant.min_cpu, variant.min_memory_mb, variant.min_disk_gb) == (1, 256, 1)
    assert node_params(variant, {}) == DEFAULTS


# -- the plugin ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", sorted(PLUGIN_DIR.glob("*.rhai")), ids=lambda path: path.name)
def test_rhai_syntax(script):
    rhai.Engine().compile_file(script)


def test_lint_finds_nothing():
    assert check(PLUGIN_DIR, node_properties=DEFAULTS) == []


def test_init_brings_the_client_and_starts_it(plugin, fake_engine):
    plugin.init()

    assert fake_engine.files[Path("/blockjoy/service/example_node.py")] == SERVICE.read_bytes(), (
        "plugin/service.rhai is stale: run `python node_images/example/embed_service.py`"
    )
    assert fake_engine.sh_calls == [("command -v python3", None)]
    assert fake_engine.created == [("init_chain", INIT_CHAIN), ("example_node", EXAMPLE_NODE)]
    assert fake_engine.started == ["init_chain", "example_node"]
    assert fake_engine.tasks == {"record_height": ("*/10 * * * * *", "record_height", "")}


def test_properties_reach_the_client(plugin, fake_engine):
    fake_engine.params = {"chain-name": "my chain", "archive": "on", "log-level": "debug"}
    plugin.init()

    assert fake_engine.jobs["example_node"].job_type == JobType.run_sh(
        'exec python3 "/blockjoy/service/example_node.py" --data-dir "/blockjoy/protocol_data"'
        ' --chain "my chain" --port 36402 --log-level "debug" --archive'
    )
    assert fake_engine.jobs["init_chain"].job_type.data.startswith('mkdir -p "/blockjoy/protocol_data/chain"')
    assert fake_engine.jobs["init_chain"].job_type.data.endswith(
        'echo "my chain" > "/blockjoy/protocol_data/chain/name"'
    )


def test_a_property_the_shell_would_run_is_refused(plugin, fake_engine):
    fake_engine.params = {**DEFAULTS, "chain-name": "devnet; rm -rf /"}
    with pytest.raises(PluginError, match="Shell unsafe character detected: ;"):
        plugin.init()
    assert fake_engine.created == []


def test_process_runtime_paths_are_the_node_env_ones(rhai_plugin, fake_engine):
    # With the process runtime node paths are host paths: the data folder is inside the node's folder.
    data = "/srv/bv/var/lib/blockvisor/nodes/n1/data"
    env = NodeEnv(node_id="n1", data_mount_point=data, protocol_data_path=f"{data}/protocol_data")
    rhai_plugin(PLUGIN_DIR, node_env=env, node_params=DEFAULTS).init()

    assert list(fake_engine.files) == [Path(f"{data}/service/example_node.py")]
    service = fake_engine.jobs["example_node"].job_type.data
    assert service.startswith(
        f'exec python3 "{data}/service/example_node.py" --data-dir "{data}/protocol_data"'
    )
    assert f'"{data}/protocol_data/chain/name"' in fake_engine.jobs["init_chain"].job_type.data
    assert "/blockjoy" not in service


def test_each_node_has_its_own_rpc_port(rhai_plugin, fake_engine):
    ports = set()
    for node_id in ("node-a", "node-b", "node-c"):
        fake_engine.on_run_jrpc = answers("0x1")
        rhai_plugin(PLUGIN_DIR, node_env=NodeEnv(node_id=node_id), node_params=DEFAULTS).height()
        ((request, _),) = fake_engine.jrpc_calls
        fake_engine.jrpc_calls.clear()
        port = int(request.host.rsplit(":", 1)[1])
        assert 20000 <= port < 60000
        ports.add(port)
    assert len(ports) == 3


def test_upload_leaves_out_partial_files(plugin, fake_engine):
    plugin.init()
    plugin.upload()

    assert fake_engine.stopped == ["example_node"]
    assert fake_engine.jobs["upload"].job_type.data.exclude == ["**/*.tmp"]
    assert fake_engine.jobs["example_node"].wait_for == ["upload"]


def test_height(plugin, fake_engine):
    fake_engine.on_run_jrpc = answers("0x2a")
    assert plugin.height() == 42
    ((request, timeout),) = fake_engine.jrpc_calls
    assert (request.host, request.method, request.params) == (RPC_HOST, "eth_blockNumber", None)
    assert timeout is None


def test_a_json_rpc_error_fails_the_call(plugin, fake_engine):
    fake_engine.on_run_jrpc = HttpResponse(200, '{"id": 0, "error": {"code": -32000, "message": "syncing"}}')
    with pytest.raises(PluginError, match="eth_blockNumber: syncing"):
        plugin.height()


def test_block_age(plugin, fake_engine):
    fake_engine.on_run_jrpc = answers({"number": "0x9", "timestamp": hex(int(time.time()) - 30)})
    assert 30 <= plugin.block_age() <= 32
    ((request, _),) = fake_engine.jrpc_calls
    assert (request.method, request.params) == ("eth_getBlockByNumber", '["latest",false]')


def test_a_block_from_a_clock_ahead_is_not_old(plugin, fake_engine):
    fake_engine.on_run_jrpc = answers({"number": "0x9", "timestamp": hex(int(time.time()) + 5)})
    assert plugin.block_age() == 0


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (1, ProtocolStatus("broadcasting", NodeHealth.HEALTHY)),
        (60, ProtocolStatus("delinquent", NodeHealth.UNHEALTHY)),
    ],
)
def test_protocol_status_follows_the_latest_block(plugin, fake_engine, age, expected):
    fake_engine.on_run_jrpc = answers({"number": "0x9", "timestamp": hex(int(time.time()) - age)})
    assert plugin.protocol_status() == expected


def test_protocol_status_of_a_client_that_does_not_answer(plugin, fake_engine):
    def refused(request, timeout):
        raise ConnectionRefusedError("connection refused")

    fake_engine.on_run_jrpc = refused
    assert plugin.protocol_status() == ProtocolStatus("delinquent", NodeHealth.UNHEALTHY)
    ((level, message),) = fake_engine.logs
    assert level == "warn"
    assert "connection refused" in message


def test_client_version(plugin, fake_engine):
    fake_engine.on_run_jrpc = answers("example-node/v0.1.0/devnet")
    assert plugin.call_custom_method("client_version", "") == "example-node/v0.1.0/devnet"
    assert "client_version" in plugin.capabilities()


def test_record_height(plugin, fake_engine):
    fake_engine.on_run_jrpc = answers("0xa", "0x14")

    assert plugin.call_custom_method("record_height", "") == "height 10"
    first = json.loads(fake_engine.data)
    assert first["height"] == 10

    record = plugin.call_custom_method("record_height", "")
    assert record.startswith("height 20, 10 blocks in ")
    assert json.loads(fake_engine.data)["height"] == 20
    assert fake_engine.logs == [("info", "height 10"), ("info", record)]


# -- the client ---------------------------------------------------------------------------------------------


class Client:
    """`example_node.py` running as a process on a free port of the loopback."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        argv = [sys.executable, str(SERVICE), "--data-dir", str(data_dir), "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*argv, "--block-time", "0.1", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def call(self, method: str, *params: object) -> dict:
        """The JSON-RPC answer to `method(params)`."""
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}).encode()
        return self.post(body)

    def post(self, body: bytes) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)

    def height(self) -> int:
        return int(self.call("eth_blockNumber")["result"], 16)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.height()
                return
            except OSError:
                assert self.process.poll() is None, self.process.communicate()[0]
                assert time.monotonic() < deadline, "the client did not answer within 10 s"
                time.sleep(0.05)

    def wait_height(self, height: int) -> None:
        deadline = time.monotonic() + 10
        while self.height() < height:
            assert time.monotonic() < deadline, f"no block {height} within 10 s"
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop the client with SIGTERM, as a job is stopped; its output."""
        self.process.send_signal(signal.SIGTERM)
        output = self.process.communicate(timeout=10)[0]
        assert self.process.returncode == 0, output
        return output


@pytest.fixture
def start_client(tmp_path):
    """Start `example_node.py` on `tmp_path` (extra arguments as given); stopped at the end if running."""
    clients = []

    def start(*args: str) -> Client:
        client = Client(tmp_path, *args)
        clients.append(client)
        client.wait_ready()
        return client

    yield start
    for client in clients:
        if client.process.poll() is None:
            client.process.kill()
            client.process.communicate()


def test_the_client_produces_blocks(start_client, tmp_path):
    client = start_client()
    first = client.height()
    client.wait_height(first + 2)

    latest = client.call("eth_getBlockByNumber", "latest", False)["result"]
    assert int(latest["number"], 16) >= first + 2
    assert abs(int(latest["timestamp"], 16) - time.time()) <= 2
    assert latest["hash"].startswith("0x")
    head = json.loads((tmp_path / "chain" / "head.json").read_text())
    assert head["number"] >= first + 2


def test_the_client_answers_what_the_plugin_asks(start_client):
    client = start_client("--chain", "testnet")
    version = client.call("web3_clientVersion")
    assert version == {"jsonrpc": "2.0", "id": 7, "result": "example-node/v0.1.0/testnet"}
    assert client.call("net_version")["result"] == "testnet"
    assert client.call("net_peerCount")["result"] == "0x0"
    assert client.call("eth_mining")["error"]["code"] == -32601
    assert client.call("eth_getBlockByNumber", "ten")["error"]["code"] == -32602
    assert client.post(b"{")["error"]["code"] == -32700


def test_a_restarted_client_continues_its_chain(start_client, tmp_path):
    client = start_client()
    client.wait_height(3)
    output = client.stop()
    stopped_at = json.loads((tmp_path / "chain" / "head.json").read_text())["number"]
    assert f"stopped at block {stopped_at}" in output
    assert not list((tmp_path / "chain").glob("*.tmp"))

    restarted = start_client()
    assert restarted.height() >= stopped_at
    restarted.wait_height(stopped_at + 1)


def test_only_an_archive_client_keeps_old_blocks(start_client, tmp_path):
    pruned = start_client()
    pruned.wait_height(2)
    assert pruned.call("eth_getBlockByNumber", "0x1", False)["result"] is None
    pruned.stop()

    archive = start_client("--archive")
    height = archive.height()
    archive.wait_height(height + 2)
    block = archive.call("eth_getBlockByNumber", hex(height + 1), False)["result"]
    assert int(block["number"], 16) == height + 1
    following = archive.call("eth_getBlockByNumber", hex(height + 2), False)["result"]
    assert following["parentHash"] == block["hash"]


def test_the_client_refuses_the_data_of_another_chain(tmp_path):
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "name").write_text("mainnet\n")
    result = subprocess.run(
        [sys.executable, str(SERVICE), "--data-dir", str(tmp_path), "--chain", "devnet"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 1
    assert "holds the chain 'mainnet', not 'devnet'" in result.stderr
