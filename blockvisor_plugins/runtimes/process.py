"""The `process` runtime: no isolation. A node's commands run on the host, in the node's folder.

For development and tests: what a node can reach is what the agent's user can reach, but the agent
still keeps every file a plugin names inside the node's folder. There is nothing to start or stop:
the node's processes are its jobs, which the agent starts and stops; the runtime only records whether
the node is meant to run, so that `status` answers like the other runtimes'.
"""

import os
from pathlib import Path

from blockvisor_core.node_access import NodeAccess
from blockvisor_core.runtime import NodeSpec, RuntimeStatus

from .state import read_state, remove_state, update_state

NAME = "process"


class ProcessRuntime:
    """Nodes as plain host processes."""

    name = NAME

    def available(self) -> bool:
        return True

    def create(self, node: NodeSpec) -> None:
        node.node_dir.mkdir(parents=True, exist_ok=True)
        node.data_dir.mkdir(parents=True, exist_ok=True)
        update_state(node.node_dir, NAME, node_id=node.id, started=False)

    def start(self, node: NodeSpec) -> None:
        update_state(node.node_dir, NAME, node_id=node.id, started=True)

    def stop(self, node: NodeSpec, *, force: bool) -> None:
        if read_state(node.node_dir, NAME) is not None:
            update_state(node.node_dir, NAME, started=False)

    def delete(self, node: NodeSpec) -> None:
        remove_state(node.node_dir, NAME)

    def status(self, node: NodeSpec) -> RuntimeStatus:
        state = read_state(node.node_dir, NAME)
        return RuntimeStatus.RUNNING if state and state.get("started") else RuntimeStatus.STOPPED

    def node_access(self, node_dir: Path) -> NodeAccess:
        folder = node_dir.resolve()
        # The host's PATH, so that node commands find the host's tools; the node's folder as home.
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(folder), "LANG": "C.UTF-8"}
        return NodeAccess(env=env, cwd=str(folder), mounts={str(folder): folder})
