"""node_ops on its own: the shell helper, bounded output, the network namespace and confined paths.

The same operations are exercised through a real agent in test_service.py; these tests cover what is
easier to see without the socket: a small output bound, a real network namespace, direct errors.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agent_support import wait_until

from babel_api.models import RestRequest
from blockvisor_core.agent import node_ops
from blockvisor_core.agent.errors import AgentError
from blockvisor_core.node_access import NodeAccess, OutsideNodeError


@pytest.fixture
def access(tmp_path) -> NodeAccess:
    node = tmp_path / "node"
    node.mkdir()
    return NodeAccess(cwd=str(node), mounts={str(node): node})


@pytest.mark.parametrize(
    ("body", "run"),
    [
        ("  echo a  ", "echo a"),
        ("echo a && \\", "echo a"),
        ("echo a &&\n  \\\\\n", "echo a"),
        ("echo a \\ \n", "echo a"),
        ("echo '&&'", "echo '&&'"),
        ("echo a && && ", "echo a &&"),
    ],
)
def test_shell_body_is_trimmed_like_the_original(body, run):
    assert node_ops.shell_body(body) == run


def test_run_sh_runs_in_the_node_folder_with_the_node_env(access):
    access = NodeAccess(cwd=access.cwd, mounts=access.mounts, env={"CHAIN": "main"})
    response = node_ops.run_sh(access, 'pwd; echo "$CHAIN"', timeout=5)
    assert response.stdout == f"{access.cwd}\nmain\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")
def test_run_sh_runs_as_the_node_user(access):
    access = NodeAccess(cwd=access.cwd, mounts=access.mounts, user="nobody")
    assert node_ops.run_sh(access, "id -un", timeout=5).stdout == "nobody\n"
    access = NodeAccess(cwd=access.cwd, mounts=access.mounts, user="no-such-user")
    with pytest.raises(AgentError, match="user 'no-such-user' does not exist"):
        node_ops.run_sh(access, "id -un", timeout=5)


def test_output_beyond_the_bound_is_counted_not_kept(access):
    response = node_ops.run_sh(
        access, "head -c 1000 /dev/zero | tr '\\0' x; echo -n yz >&2", 5, output_limit=10
    )
    assert response.stdout == "x" * 10 + "\n[output cut: 990 more bytes]"
    assert response.stderr == "yz"


def test_invalid_utf8_is_replaced(access):
    assert node_ops.run_sh(access, r"printf 'ok\377'", 5).stdout == "ok\ufffd"


def test_a_background_child_holding_the_pipes_does_not_hold_the_call(access):
    started = time.monotonic()
    response = node_ops.run_sh(access, "sleep 30 & echo $!", 10)
    assert time.monotonic() - started < 2
    os.kill(int(response.stdout), signal.SIGKILL)


def test_death_by_signal_is_an_error(access):
    with pytest.raises(AgentError, match="killed by SIGKILL"):
        node_ops.run_sh(access, "kill -KILL $$", 5)


def test_a_shell_that_closes_its_pipes_still_times_out(access):
    with pytest.raises(TimeoutError, match=r"timed out after 0\.5 s"):
        node_ops.run_sh(access, "exec >&- 2>&-; sleep 30", 0.5)


def test_paths_that_leave_the_node_are_refused(access, tmp_path):
    node = Path(access.cwd)
    (tmp_path / "secret").write_text("host")
    (node / "absolute").symlink_to(tmp_path / "secret")
    (node / "relative").symlink_to("../secret")
    for path in ("../secret", "absolute", "relative", str(tmp_path / "secret")):
        with pytest.raises(OutsideNodeError):
            node_ops.file_read(access, path)
        with pytest.raises(OutsideNodeError):
            node_ops.file_write(access, path, b"x")
    assert (tmp_path / "secret").read_text() == "host"


def test_file_write_replaces_the_file_with_mode_770(access):
    node_ops.file_write(access, "etc/config.toml", b"old")
    node_ops.file_write(access, "etc/config.toml", b"new")
    written = Path(access.cwd, "etc/config.toml")
    assert written.read_bytes() == b"new"
    assert written.stat().st_mode & 0o777 == 0o770


def _can_unshare_network() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("ip") is not None


@pytest.mark.skipif(
    not _can_unshare_network(), reason="creating a network namespace needs root, unshare and ip"
)
def test_http_calls_leave_from_the_node_network_namespace(access, http_server, tmp_path):
    # The same address answers "host" on the host and "node" inside a fresh network namespace.
    http_server.routes["/who"] = (200, "host", 0.0)
    (tmp_path / "who").write_text("node")
    inside = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable,
         "-m", "http.server", "--bind", "127.0.0.1", str(http_server.port)],
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        netns = Path(f"/proc/{inside.pid}/ns/net")
        # Until `unshare` has run, the process is still in the host's namespace.
        wait_until(lambda: os.readlink(netns) != os.readlink("/proc/self/ns/net"), what="unshare")
        node = NodeAccess(cwd=access.cwd, mounts=access.mounts, netns=netns)
        url = f"http://localhost:{http_server.port}/who"
        wait_until(lambda: _answers(node, url), what="the server inside the namespace")
        assert node_ops.run_rest(node, RestRequest(url=url), 5).body == "node"
        assert node_ops.run_rest(access, RestRequest(url=url), 5).body == "host"
    finally:
        inside.kill()
        inside.wait()


def _answers(access: NodeAccess, url: str) -> bool:
    try:
        node_ops.run_rest(access, RestRequest(url=url), 1)
    except AgentError:
        return False
    return True
