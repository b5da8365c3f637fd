"""The `process` runtime: no isolation. A node's commands run on the host, in the node's folder.

For development and tests: what a node can reach is what the agent's user can reach, but the agent
still keeps every file a plugin names inside the node's folder.
"""

import os
from pathlib import Path

from blockvisor_core.hookspecs import hookimpl
from blockvisor_core.node_access import NodeAccess

NAME = "process"


@hookimpl
def runtime_node_access(runtime: str, node_dir: Path) -> NodeAccess | None:
    if runtime != NAME:
        return None
    folder = node_dir.resolve()
    # The host's PATH, so that node commands find the host's tools; the node's folder as home.
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(folder), "LANG": "C.UTF-8"}
    return NodeAccess(env=env, cwd=str(folder), mounts={str(folder): folder})
