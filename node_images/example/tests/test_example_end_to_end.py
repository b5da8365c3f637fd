"""End to end: the example image run by the real daemon, `bv` and runtimes, each test on a root of its own.

`make demo ARGS=--once` creates the example node in the best runtime present, waits until its height
rises, shows `bv node info`, then deletes the node and stops the daemon: what it prints and leaves
behind is checked. Two nodes in the process runtime share the host's network and run side by side.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

IMAGE = Path(__file__).parents[1]
DEMO = IMAGE / "demo.py"
BV = Path(sys.executable).parent / "bv"


@pytest.fixture
def root():
    # Short: the node agent's Unix socket lies deep inside the root, and socket paths are limited to
    # 108 bytes, which pytest's own temporary folders can exceed.
    with tempfile.TemporaryDirectory(prefix="bv-demo-") as folder:
        yield Path(folder)


def test_demo_once(root):
    result = subprocess.run(
        [sys.executable, str(DEMO), "--once", "--root", str(root), "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith("$ bv ")]
    assert commands == [
        "$ bv config init",
        "$ bv start",
        "$ bv node create node_images/example --name demo-node",
        "$ bv node start demo-node",
        "$ bv node info demo-node",
        "$ bv node stop demo-node",
        "$ bv node delete demo-node --yes",
        "$ bv stop",
    ]
    info = result.stdout.split("$ bv node info demo-node\n", 1)[1]
    height = next(line for line in info.splitlines() if line.startswith("Block height:"))
    assert int(height.split(":")[1]) >= 2
    assert "Protocol health: healthy" in info
    nodes = root / "var" / "lib" / "blockvisor" / "nodes"
    assert list(nodes.iterdir()) == [nodes / "state.json"]
    assert processes_of(root) == []


def processes_of(root: Path) -> list[str]:
    """The command lines of the running processes that name `root` (the daemon, agents, job runners)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if str(root) in cmdline:
            found.append(cmdline)
    return found


def bv(root: Path, *args: str) -> str:
    """The output of `bv args` on `root`, which must succeed."""
    result = subprocess.run(
        [str(BV), *args], env={**os.environ, "BV_ROOT": str(root)}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"bv {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture
def daemon(root):
    """A daemon running on `root`, stopped at the end with every node deleted."""
    bv(root, "config", "init")
    bv(root, "start")
    yield root
    bv(root, "node", "delete", "--all", "--yes")
    bv(root, "stop")


def test_two_nodes_in_the_process_runtime(daemon):
    bv(daemon, "node", "create", str(IMAGE), "--name", "first", "--runtime", "process")
    props = json.dumps({"chain-name": "testnet", "archive": "on"})
    bv(daemon, "node", "create", str(IMAGE), "--name", "second", "--runtime", "process", "--props", props)
    bv(daemon, "node", "start", "first", "second")

    deadline = time.monotonic() + 60
    while True:
        nodes = {
            name: json.loads(bv(daemon, "node", "info", name, "--format", "json"))
            for name in ("first", "second")
        }
        if all((node["metrics"]["height"] or 0) >= 2 for node in nodes.values()):
            break
        assert time.monotonic() < deadline, f"no height 2 within 60 s: {nodes}"
        time.sleep(0.5)

    assert bv(daemon, "node", "run", "client_version", "second") == "example-node/v0.1.0/testnet\n"
    for name, node in nodes.items():
        assert node["runtime"] == "process"
        # Node paths are host paths: the client keeps its chain in the node's data folder on the host.
        heads = list(
            (daemon / "var" / "lib" / "blockvisor" / "nodes" / node["id"]).glob("**/chain/head.json")
        )
        assert len(heads) == 1, (name, heads)
        assert json.loads(heads[0].read_text())["number"] >= 1
