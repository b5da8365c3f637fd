"""What a node runtime does on the host: prepare a node's files, run the node, stop it, tell its state.

A runtime (bwrap, apptainer, process, or a third party's) is a plugin object that the nodes manager
drives through this protocol. The node agent runs on the host beside the node and reaches into it with
the runtime's `NodeAccess` (hook `runtime_node_access`), so a runtime keeps in the node's folder what
it needs to answer for that node later, across daemon restarts.
"""

import enum
from pathlib import Path
from typing import Protocol

import attrs

from blockvisor_core.node_access import NodeAccess


@attrs.frozen(kw_only=True)
class NodeNetwork:
    """The node's own network: its address on the host's bridge. None in a `NodeSpec`: the host's network."""

    ip: str
    gateway: str
    prefix: int
    bridge: str


@attrs.frozen(kw_only=True)
class NodeSpec:
    """One node as a runtime needs to know it.

    `node_dir` is the node's folder on the host (its state, the agent's socket, `var/lib/babel`);
    `rootfs` is what the node's root file system is made from: a folder, a tarball (`.tar`, `.tar.gz`),
    or None for a read-only view of the host's system folders (development images); `container_uri` is
    what the apptainer runtime builds its sandbox from instead (`docker://...`, `docker-daemon://...`,
    a SIF file or sandbox folder; None: `rootfs`, which must then be a folder); `data_dir` holds the
    node's data and is mounted at the node's `data_mount_point` (`/blockjoy`).
    """

    id: str
    name: str
    node_dir: Path
    rootfs: Path | None
    data_dir: Path
    container_uri: str | None = None
    data_mount_point: str = "/blockjoy"
    cpus: int = 0
    memory_mb: int = 0
    network: NodeNetwork | None = None


class RuntimeStatus(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"


class Runtime(Protocol):
    """A way to run nodes. Every method takes the node it acts on; none keeps per-node state in memory."""

    #: The runtime's name in host config and node state: `bwrap`, `apptainer`, `process`, ...
    name: str

    def available(self) -> bool:
        """Whether this machine can run nodes with this runtime (its tools are installed, ...)."""

    def create(self, node: NodeSpec) -> None:
        """Prepare the node's files (its root file system) from `node.rootfs`; the node is stopped."""

    def start(self, node: NodeSpec) -> None:
        """Start the node: its namespaces, network and limits, ready for the agent to run jobs in it."""

    def stop(self, node: NodeSpec, *, force: bool) -> None:
        """Stop the node and every process in it (with force: at once, without a graceful wait)."""

    def delete(self, node: NodeSpec) -> None:
        """Remove what `create` made; the node's folder itself is the nodes manager's."""

    def status(self, node: NodeSpec) -> RuntimeStatus:
        """Whether the node is running, as the runtime sees it now."""

    def node_access(self, node_dir: Path) -> NodeAccess:
        """How the agent reaches into the node (see `blockvisor_core.node_access`)."""
