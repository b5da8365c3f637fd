"""Where a new node's address comes from (spec §3.17): the host's network, or a pool of the host.

* `host_network`: nodes share the host's network stack, and report the host's address;
* otherwise the pool is `net_conf.available_ips` when the host's bridge network was detected or written
  (nodes attach to `iface`), else the hosts of `node_network` (nodes attach to `bridge`, whose address
  is the network's first host and the nodes' gateway).

An address belongs to one node at a time; the nodes manager passes the ones in use.
"""

import ipaddress
from collections.abc import Iterator

import attrs

from blockvisor_core.config import HostConfig
from blockvisor_core.nodes.errors import WrongState

UNSPECIFIED = "0.0.0.0"


@attrs.frozen(kw_only=True)
class NodeAddress:
    ip: str
    gateway: str
    prefix: int
    bridge: str
    host_network: bool


def allocate(config: HostConfig, used: set[str]) -> NodeAddress:
    """An address for a new node, none of `used`; `WrongState` when the pool is exhausted."""
    net = config.net_conf
    if config.host_network:
        ip = net.host_ip if net.host_ip != UNSPECIFIED else "127.0.0.1"
        return NodeAddress(ip=ip, gateway=net.gateway_ip, prefix=net.prefix, bridge="", host_network=True)
    if net.available_ips:
        candidates: Iterator[str] = iter(net.available_ips)
        gateway, prefix, bridge, pool = net.gateway_ip, net.prefix, config.iface, "net_conf.available_ips"
    else:
        network = ipaddress.ip_network(config.node_network)
        hosts = (str(host) for host in network.hosts())
        gateway = next(hosts, UNSPECIFIED)
        candidates, prefix, bridge, pool = hosts, network.prefixlen, config.bridge, f"node_network {network}"
    ip = next((candidate for candidate in candidates if candidate not in used), None)
    if ip is None:
        raise WrongState(
            f"no free IP address left in the host's pool ({pool}); delete a node or widen the pool"
        )
    return NodeAddress(ip=ip, gateway=gateway, prefix=prefix, bridge=bridge, host_network=False)
