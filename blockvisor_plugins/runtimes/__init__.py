"""Node runtimes: how a node's processes are isolated (or not) and reached.

One plugin module for the three built-ins, in the order the host prefers them when its config names
none: `apptainer` (production hosts), `bwrap` (bubblewrap sandboxes, no daemon), `process` (no
isolation). `runtime_node_access` answers for these three names only.
"""

from pathlib import Path

from blockvisor_core.hookspecs import hookimpl
from blockvisor_core.node_access import NodeAccess
from blockvisor_core.runtime import Runtime

from .apptainer import ApptainerRuntime
from .bwrap import BwrapRuntime
from .process import ProcessRuntime

#: The built-in runtimes, in order of preference; they keep no per-node state, so one of each serves all.
BUILTIN: tuple[Runtime, ...] = (ApptainerRuntime(), BwrapRuntime(), ProcessRuntime())


@hookimpl
def node_runtimes() -> list[Runtime]:
    return list(BUILTIN)


@hookimpl
def runtime_node_access(runtime: str, node_dir: Path) -> NodeAccess | None:
    for candidate in BUILTIN:
        if candidate.name == runtime:
            return candidate.node_access(node_dir)
    return None
