"""What a bwrap node's processes see: their own files, processes, network and limits, not the host's."""

import subprocess
from pathlib import Path

import httpx
import pytest
from runtime_support import private_network, serve_text, wait_until

from babel_api.models import RestRequest
from blockvisor_core.agent.node_ops import run_rest, run_sh
from blockvisor_core.runtime import RuntimeStatus
from blockvisor_plugins.runtimes.bwrap_enter import KEPT_CAPABILITIES
from blockvisor_plugins.runtimes.state import read_state


@pytest.fixture
def node(bwrap, nodes, bridge_octet):
    """A running host-view node (the host's /usr, so python3 is there) with its own network."""
    spec = nodes(None, network=private_network(bridge_octet, 30))
    bwrap.create(spec)
    bwrap.start(spec)
    return spec


def sh(node, bwrap, body: str) -> str:
    result = run_sh(bwrap.node_access(node.node_dir), body, 20)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_data_folder_is_at_blockjoy(node, bwrap):
    sh(node, bwrap, "echo protocol-data > /blockjoy/written-inside")
    assert (node.data_dir / "written-inside").read_text() == "protocol-data\n"
    (node.data_dir / "written-outside").write_text("from the host")
    assert sh(node, bwrap, "cat /blockjoy/written-outside") == "from the host"


def test_the_hosts_other_files_are_out_of_sight(node, bwrap, tmp_path):
    marker = tmp_path / "host-marker"
    marker.write_text("secret")
    assert Path("/root").exists() and Path(__file__).exists()
    script = f"""
        for path in {marker} {Path(__file__)} /work /etc/shadow /root/.bashrc {node.node_dir}/runtime; do
            test -e "$path" && echo "visible: $path"
        done
        ls -A /root
        true
    """
    assert sh(node, bwrap, script) == ""
    # The node's /etc is its own: writes stay in its root, the host's /etc is untouched.
    sh(node, bwrap, "echo node > /etc/node-only")
    assert not Path("/etc/node-only").exists()
    # The host's system folders are read-only.
    result = run_sh(bwrap.node_access(node.node_dir), "touch /usr/bin/planted", 10)
    assert result.exit_code != 0 and not Path("/usr/bin/planted").exists()


def test_the_node_sees_only_its_own_processes(node, bwrap):
    lines = sh(node, bwrap, "ps -eo pid=,comm=").split("\n")
    processes = [line.split(None, 1) for line in lines if line.strip()]
    names = {name for _, name in processes}
    assert names <= {"bwrap", "sh", "ps"}, names
    assert ["1", "bwrap"] in processes
    assert len(processes) <= 5


def test_root_in_the_node_has_no_dangerous_capabilities(node, bwrap):
    status = sh(node, bwrap, "grep CapEff /proc/self/status")
    assert int(status.split()[1], 16) == sum(1 << number for number in KEPT_CAPABILITIES)
    result = run_sh(bwrap.node_access(node.node_dir), "mknod /tmp/disk b 8 0 || echo refused", 10)
    assert "refused" in result.stdout
    result = run_sh(bwrap.node_access(node.node_dir), "ip addr add 10.9.9.9/32 dev lo || echo refused", 10)
    assert "refused" in result.stdout


def test_localhost_inside_the_node_is_the_node(node, bwrap):
    host_server = serve_text("host")
    port = host_server.server_address[1]
    access = bwrap.node_access(node.node_dir)
    (access.host_path("/srv")).mkdir(exist_ok=True)
    (access.host_path("/srv/who")).write_text("node")
    # Not `python3 -m http.server`: it looks its address up in DNS, which the node cannot reach here.
    (access.host_path("/srv/serve.py")).write_text(SERVER)
    server = subprocess.Popen(
        access.command(["python3", "/srv/serve.py", str(port)]),
        env=access.env,
        cwd=access.host_path("/"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/who"
        response = wait_until(lambda: _get(access, url), "the node's server")
        assert response.body == "node"
        # A shell in the node reaches the node's server too, and the host still reaches its own.
        fetch = (
            f"python3 -c 'import urllib.request; print(urllib.request.urlopen(\"{url}\").read().decode())'"
        )
        assert sh(node, bwrap, fetch).strip() == "node"
        assert httpx.get(url, trust_env=False).text == "host"
        # The host reaches the node across the bridge, at the node's address.
        assert httpx.get(f"http://{node.network.ip}:{port}/who", trust_env=False, timeout=5).text == "node"
    finally:
        host_server.shutdown()
        host_server.server_close()
        bwrap.stop(node, force=True)
        server.wait(5)


SERVER = """
import functools, http.server, socketserver, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="/srv")
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), handler).serve_forever()
"""


def _get(access, url):
    try:
        response = run_rest(access, RestRequest(url=url), 2)
    except Exception:
        return None
    return response if response.status_code == 200 else None


def test_the_node_has_its_address_and_route(node, bwrap):
    addresses = sh(node, bwrap, "ip -4 -o addr show dev eth0")
    assert f"{node.network.ip}/24" in addresses
    assert f"default via {node.network.gateway}" in sh(node, bwrap, "ip route")
    assert sh(node, bwrap, "hostname").strip() == node.name.replace("_", "-")


def test_memory_and_cpu_limits_bind_the_nodes_commands(bwrap, nodes):
    node = nodes(None, memory_mb=64, cpus=1)
    bwrap.create(node)
    bwrap.start(node)
    folders = [Path(folder) for folder in read_state(node.node_dir, "bwrap")["cgroups"]]
    if not folders:
        pytest.skip("this host's cgroups cannot take limits (see the runtime's warning)")
    limits = {}
    for name in ("memory.max", "memory.limit_in_bytes", "cpu.max", "cpu.cfs_quota_us"):
        for folder in folders:
            if (folder / name).exists():
                limits[name.split(".")[0]] = (folder / name).read_text().strip()
    # 64 MB, rounded down to whole pages by the kernel; one CPU's worth of time per period.
    assert int(limits["memory"]) == 64_000_000 // 4096 * 4096
    assert limits["cpu"] in ("100000 100000", "100000")
    # A command the agent runs in the node is in the node's cgroup, and its memory is bounded.
    own_cgroups = sh(node, bwrap, "cat /proc/self/cgroup")
    assert f"/blockvisor/{node.id}" in own_cgroups
    assert sh(node, bwrap, "python3 -c 'b = bytearray(16_000_000)'; echo status=$?").strip() == "status=0"
    too_much = "python3 -c 'b = bytearray(200_000_000); b[::4096] = b\"x\" * len(b[::4096])'; echo status=$?"
    assert sh(node, bwrap, too_much).strip() == "status=137"
    bwrap.stop(node, force=False)
    assert not any(folder.exists() for folder in folders)
    assert bwrap.status(node) is RuntimeStatus.STOPPED
