"""What a runtime remembers about a node, kept in the node's folder: `<node_dir>/runtime/<runtime>.json`.

A runtime keeps no per-node state in memory: the nodes manager, the daemon after a restart and the
node agent (in other processes) all ask about a node by its folder, so whatever a runtime needs to
answer later is written there, atomically.
"""

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from blockvisor_core.files import write_atomic

FOLDER = "runtime"


def state_path(node_dir: Path, runtime: str) -> Path:
    return node_dir / FOLDER / f"{runtime}.json"


def read_state(node_dir: Path, runtime: str) -> dict[str, Any] | None:
    """The runtime's record of the node; None when it has none (never created, or deleted)."""
    try:
        state = json.loads(state_path(node_dir, runtime).read_text())
    except FileNotFoundError:
        return None
    if not isinstance(state, dict):
        raise ValueError(f"{state_path(node_dir, runtime)}: expected a JSON object")
    return state


def write_state(node_dir: Path, runtime: str, state: dict[str, Any]) -> None:
    write_atomic(state_path(node_dir, runtime), json.dumps(state, indent=2, sort_keys=True) + "\n")


def update_state(node_dir: Path, runtime: str, **changes: Any) -> dict[str, Any]:
    """Merge `changes` into the runtime's record of the node and write it; the new record."""
    state = read_state(node_dir, runtime) or {}
    state.update(changes)
    write_state(node_dir, runtime, state)
    return state


def remove_state(node_dir: Path, runtime: str) -> None:
    state_path(node_dir, runtime).unlink(missing_ok=True)
    # Kept while other runtimes' files are in it.
    with contextlib.suppress(OSError):
        (node_dir / FOLDER).rmdir()


def process_start_time(pid: int) -> int | None:
    """Clock ticks after boot at which `pid` started; None when it is gone or a zombie.

    A pid and its start time name one process for good: a pid that the kernel hands out again
    belongs to a process with another start time.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in (b"Z", b"X") else int(fields[19])


def is_alive(pid: int, start: int | None = None) -> bool:
    """Whether `pid` runs (not a zombie), and is the process that started at `start` when given."""
    if pid <= 0:
        return False
    started = process_start_time(pid)
    return started is not None and (start is None or started == start)


def host_env() -> dict[str, str]:
    """The host's PATH and a UTF-8 locale: what a host tool run for a node needs."""
    return {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
