"""A node's own network: a named network namespace with one veth link to the host's bridge.

The namespace is made with `ip netns add`, so it has a file (`/run/netns/bv-<node id>`) that outlives
any process: the sandbox is launched inside it, the agent enters it by that file, and a reused pid can
never point the agent at another namespace. The node sees `eth0` with its address from the host's pool
and a default route through the bridge's address; the host reaches the node across the bridge. The
bridge (`bvup`'s settings: name, gateway address, prefix) is created when missing and never removed
here, as every node on the host shares it.
"""

import hashlib
import logging
import subprocess
from pathlib import Path

from blockvisor_core.runtime import NodeNetwork

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")


def netns_name(node_id: str) -> str:
    return f"bv-{node_id}"


def netns_path(node_id: str) -> Path:
    return NETNS_DIR / netns_name(node_id)


def veth_name(node_id: str) -> str:
    """The host end of the node's link: `bv` + 12 hex digits of the node id's hash (15 characters max)."""
    return "bv" + hashlib.sha256(node_id.encode()).hexdigest()[:12]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip() or f'exit {result.returncode}'}")
    return result


def link_exists(name: str) -> bool:
    return ip("link", "show", "dev", name, check=False).returncode == 0


def ensure_bridge(network: NodeNetwork) -> None:
    """Create the bridge with the gateway address when it is missing; make sure it is up."""
    if not link_exists(network.bridge):
        log.info("creating the bridge %s with %s/%d", network.bridge, network.gateway, network.prefix)
        ip("link", "add", "name", network.bridge, "type", "bridge")
        ip("addr", "add", f"{network.gateway}/{network.prefix}", "dev", network.bridge)
    ip("link", "set", network.bridge, "up")


def set_up(node_id: str, network: NodeNetwork) -> Path:
    """Make the node's namespace and link (removing any left by a crash); the namespace's file."""
    tear_down(node_id)
    ensure_bridge(network)
    name, veth = netns_name(node_id), veth_name(node_id)
    try:
        ip("netns", "add", name)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        ip("link", "set", veth, "master", network.bridge)
        ip("link", "set", veth, "up")
        ip("-n", name, "addr", "add", f"{network.ip}/{network.prefix}", "dev", "eth0")
        ip("-n", name, "link", "set", "eth0", "up")
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "route", "add", "default", "via", network.gateway)
    except BaseException:
        tear_down(node_id)
        raise
    return netns_path(node_id)


def tear_down(node_id: str) -> None:
    """Remove the node's namespace and link, whatever is left of them."""
    if netns_path(node_id).exists():
        result = ip("netns", "del", netns_name(node_id), check=False)
        if result.returncode != 0:
            log.warning("node %s: cannot remove its network namespace: %s", node_id, result.stderr.strip())
    # Deleting the namespace takes the link's node end, and so the link, with it; a leftover host end
    # (the namespace was never made) goes here.
    veth = veth_name(node_id)
    if link_exists(veth):
        ip("link", "del", veth, check=False)
