"""End to end: what an operator types, `bv` against a real `blockvisord`, in the bwrap and process runtimes.

Every command runs the installed `bv` console script as a subprocess on a root of the test's own
(BV_ROOT), and the node is the example image (`node_images/example`): a toy chain whose height rises by
one a second, with a custom method, a job log and a scheduled task. The flow covers the daemon's life
(a `kill -9` in the middle, after which the node runs on untouched), the node's (create, start, stop,
start, restart, delete), and ends with nothing of the root left running. A bwrap node is isolated: it
sees neither the host's files nor the host's loopback. Bad input ends `bv` with one clear line.
"""

import json
import os
import re
import shlex
import signal
import tempfile
import time
import urllib.request
from pathlib import Path

from cli_support import Result, bv_run
from host_support import agent_pid, alive, root_processes, runner_pid, wait_until
from runtime_support import serve_text

from blockvisor_core.agent.client import AgentClient
from blockvisor_core.cli.service import daemon_pid
from blockvisor_core.paths import Paths

IMAGE = Path(__file__).resolve().parents[2] / "node_images" / "example"
NODE = "e2e-node"
SERVICE = "example_node"
#: Seconds a `bv` command may take; stopping a node waits for its client to end.
BV_TIMEOUT = 60
#: Seconds for the height to rise (a block a second once the client runs).
RISE_SECS = 30
#: The example's task `record_height` runs every 10 s: a generous bound for its first run.
TASK_SECS = 25
#: Python run in the node: the client's version, asked over JSON-RPC at `localhost:<argv[1]>`.
ASK_CLIENT_VERSION = """
import json, sys, urllib.request
call = {"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion", "params": []}
request = urllib.request.Request(
    f"http://localhost:{sys.argv[1]}", json.dumps(call).encode(), {"Content-Type": "application/json"}
)
print(json.load(urllib.request.urlopen(request, timeout=10))["result"])
"""


def bv(*args: str) -> str:
    """The standard output of `bv args`, which must succeed and write nothing to standard error."""
    result = bv_run(*args, timeout=BV_TIMEOUT)
    assert (result.code, result.err) == (0, ""), f"bv {' '.join(args)}: {result}"
    return result.out


def bv_json(*args: str):
    return json.loads(bv(*args, "--format", "json"))


def failed(*args: str) -> Result:
    """`bv args`, which must fail with one line `Error: ...` on standard error and nothing on standard
    output."""
    result = bv_run(*args, timeout=BV_TIMEOUT)
    assert result.code != 0, f"bv {' '.join(args)} succeeded: {result}"
    assert result.out == "", result
    assert re.fullmatch(r"Error: [^\n]+\n", result.err), result
    return result


def height_above(node: str, height: int) -> dict:
    """`bv node info` once the node is running, healthy, and its height is above `height`."""
    seen: dict = {}

    def risen() -> bool:
        seen.update(bv_json("node", "info", node))
        metrics = seen["metrics"]
        return (
            seen["status"] == "running"
            and metrics["protocol_health"] == "healthy"
            and (metrics["height"] or 0) > height
        )

    wait_until(risen, RISE_SECS, f"the height of {node} above {height} (last seen: {seen.get('metrics')})")
    return seen


def rising(node: str) -> dict:
    """`bv node info` once the node's height has risen since this call first read it."""
    return height_above(node, height_above(node, 0)["metrics"]["height"])


def job(node: str, name: str) -> dict:
    return bv_json("node", "job", node, "info", name)


def assert_nothing_runs(root: Paths) -> None:
    """No process of the root is left (after a short grace for those ending), or the test fails with
    their command lines."""
    deadline = time.monotonic() + 10
    while (left := root_processes(root.root)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == {}


def test_operator_flow(root: Paths, runtime: str):
    """One node through an operator's day, under one daemon that is killed with SIGKILL halfway."""
    # The host and its daemon.
    assert bv("config", "init") == f"Host config {root.config} created\n"
    assert bv("start").startswith("blockvisor service started successfully")

    # A node of the example image, created, listed and started.
    props = {"chain-name": f"e2e-{runtime}", "log-level": "debug"}
    created = bv_json(
        "node", "create", str(IMAGE), "--props", json.dumps(props), "--name", NODE, "--runtime", runtime
    )
    node_dir = root.node_dir(created["id"])
    listed = bv_json("node", "list")
    assert [(node["id"], node["name"], node["runtime"], node["image"]) for node in listed] == [
        (created["id"], NODE, runtime, "example/example-devnet/0.1.0")
    ]
    assert listed[0]["properties"] == {**props, "archive": "off"}
    assert bv("node", "start", NODE) == f"Started node `{created['id']}`\n"
    info = rising(NODE)
    assert info["metrics"]["protocol_state"] == "broadcasting"

    # The plugin's custom method, the node's jobs, the service's log.
    assert bv("node", "run", "client_version", NODE) == f"example-node/v0.1.0/e2e-{runtime}\n"
    jobs = {entry["name"]: entry for entry in bv_json("node", "job", NODE, "list")}
    assert {name: entry["status"] for name, entry in jobs.items()} == {
        SERVICE: "running",
        "init_chain": "finished",
    }
    assert jobs["init_chain"]["exit_code"] == 0
    assert (job(NODE, SERVICE)["status"], job(NODE, SERVICE)["restart_count"]) == ("running", 0)
    assert f"serving JSON-RPC for e2e-{runtime}" in bv("node", "job", NODE, "logs", SERVICE)

    # The scheduled task `record_height` ran: it saved the height in the node's folder on the host.
    saved = node_dir / "plugin.data"
    wait_until(lambda: json.loads(saved.read_text())["height"] > 0, TASK_SECS, "record_height to run")

    # kill -9 of the daemon while the node runs: the node runs on; a new daemon finds it as it was.
    agent = agent_pid(root, created["id"])
    runner = runner_pid(root, created["id"], SERVICE)
    client = int((node_dir / "var/lib/babel/jobs" / SERVICE / "script.pid").read_text())
    killed = daemon_pid(root)
    # What the last check of the test looks for: the daemon, the node's agent, the job runner, the client.
    assert {killed, agent, runner, client} <= set(root_processes(root.root))
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: not alive(killed), 10, "the daemon killed")
    assert bv("status") == "Service stopped\n"
    assert bv("start").startswith("blockvisor service started successfully")
    assert daemon_pid(root) not in (None, killed)
    # The first recovery round runs at once and holds each node while it checks it: `Busy` meanwhile.
    wait_until(lambda: bv("node", "status", NODE) != "Busy\n", 10, "the first recovery round")
    assert bv("node", "status", NODE) == "Running\n"
    assert runner_pid(root, created["id"], SERVICE) == runner
    assert agent_pid(root, created["id"]) == agent
    assert all(alive(pid) for pid in (agent, runner, client))
    info = height_above(NODE, info["metrics"]["height"])
    assert job(NODE, SERVICE)["restart_count"] == 0

    # Stop, then start: the chain goes on from its height; a stop asked for is no crash of the service.
    assert bv("node", "stop", NODE) == f"Stopped node `{created['id']}`\n"
    assert bv("node", "status", NODE) == "Stopped\n"
    assert not alive(runner)
    bv("node", "start", NODE)
    info = height_above(NODE, info["metrics"]["height"])
    service = job(NODE, SERVICE)
    assert (service["status"], service["restart_count"], service["logs"]) == ("running", 0, [])
    assert runner_pid(root, created["id"], SERVICE) != runner
    assert bv("node", "restart", NODE) == f"Restarted node `{created['id']}`\n"
    height_above(NODE, info["metrics"]["height"])

    # Delete, stop the daemon: nothing of the root runs, nothing of the node is left.
    assert bv("node", "delete", NODE, "-y") == f"Deleted node `{NODE}`\n"
    assert bv_json("node", "list") == []
    assert not node_dir.exists()
    assert bv("stop") == "blockvisor service stopped successfully\n"
    assert_nothing_runs(root)


def test_a_bwrap_node_sees_neither_the_hosts_files_nor_its_loopback(root: Paths, bwrap: str):
    """Where the node's jobs run, a marker file of the host is out of sight, and `localhost:<port>` is the
    node's client, while the host's `localhost:<port>` is a server of the host."""
    bv("config", "init")
    bv("start")
    created = bv_json("node", "create", str(IMAGE), "--name", NODE, "--runtime", bwrap)
    bv("node", "start", NODE)
    height_above(NODE, 0)
    node_dir = root.node_dir(created["id"])
    config = (node_dir / "var/lib/babel/jobs" / SERVICE / "config.json").read_text()
    port = int(re.search(r"--port (\d+)", config)[1])

    with tempfile.TemporaryDirectory(prefix="bv-marker-", dir="/tmp") as folder:
        marker = Path(folder) / "marker"
        marker.write_text("the host's")
        host_server = serve_text("the host's server", port=port)
        try:
            with AgentClient(node_dir / "babel.socket", timeout=30) as agent:
                # Run where the node's jobs run: its own files, not the host's.
                files = agent.run_sh(
                    f"for path in {marker} {folder} {root.root} /blockjoy/service/example_node.py; do "
                    'test -e "$path" && echo "$path"; done; true'
                )
                assert (files.exit_code, files.stdout) == (0, "/blockjoy/service/example_node.py\n")
                # localhost in the node is the node: its client answers there, not the host's server.
                inside = agent.run_sh(f"python3 -c {shlex.quote(ASK_CLIENT_VERSION)} {port}")
                assert (inside.exit_code, inside.stdout) == (0, "example-node/v0.1.0/devnet\n"), inside
            # And the host's localhost is the host's.
            direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with direct.open(f"http://localhost:{port}", timeout=10) as answer:
                assert answer.read() == b"the host's server"
        finally:
            host_server.shutdown()
            host_server.server_close()

    bv("node", "delete", NODE, "--yes")
    bv("stop")
    assert_nothing_runs(root)


def test_bad_input_is_one_clear_line(root: Paths):
    """An unknown node, `--props` that are not JSON, an image that does not exist: one line, no node."""
    bv("config", "init")
    bv("start")

    for command in (("node", "info", "ghost"), ("node", "start", "ghost"), ("node", "job", "ghost", "list")):
        error = failed(*command)
        assert error.code == 1 and "ghost" in error.err, (command, error)

    error = failed("node", "create", str(IMAGE), "--props", "{bad", "--runtime", "process")
    assert "JSON" in error.err
    assert bv_json("node", "list") == []

    missing = root.root / "no-such-image"
    error = failed("node", "create", str(missing), "--runtime", "process")
    assert str(missing) in error.err
    error = failed("node", "create", "nosuchprotocol/devnet", "--runtime", "process")
    assert "nosuchprotocol" in error.err
    assert bv_json("node", "list") == []
    bv("stop")
