"""A node's CPU and memory limits, in cgroups of its own: `blockvisor/<node id>` under each hierarchy.

cgroup v2 (one hierarchy: `cpu.max`, `memory.max`) and v1 (a `cpu` and a `memory` hierarchy:
`cpu.cfs_quota_us`, `memory.limit_in_bytes`) are both handled, as hosts still run either. Where the
cgroup file system is missing, read-only or lacks a controller, the node runs without limits and a
warning says why: limits are a protection, not a condition for running.

The limits follow the original's meaning: `cpus` is a number of whole CPUs (as a quota of CPU time, here:
the node spec names no CPUs to pin), `memory_mb` megabytes of 1 000 000 bytes, swap included.
"""

import contextlib
import errno
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path("/sys/fs/cgroup")
GROUP = "blockvisor"
PERIOD_US = 100_000
REMOVE_SECS = 5.0


def create(node_id: str, cpus: int, memory_mb: int, root: Path = ROOT) -> list[Path]:
    """Create the node's cgroups with its limits; their folders (a process joins by writing its pid to
    `cgroup.procs` of each). Empty without limits, or when this host's cgroups cannot take them."""
    if cpus <= 0 and memory_mb <= 0:
        return []
    folders: list[Path] = []
    try:
        if (root / "cgroup.controllers").is_file():
            folders.append(_create_v2(root, node_id, cpus, memory_mb))
        else:
            if memory_mb > 0:
                folders.append(_create_v1(root / "memory", node_id))
                _write_v1_memory(folders[-1], memory_mb * 1_000_000)
            if cpus > 0:
                folders.append(_create_v1(root / "cpu", node_id))
                (folders[-1] / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (folders[-1] / "cpu.cfs_quota_us").write_text(str(cpus * PERIOD_US))
    except OSError as error:
        log.warning("node %s: running without cpu/memory limits: cgroups under %s: %s", node_id, root, error)
        remove(folders)
        return []
    return folders


def _create_v2(root: Path, node_id: str, cpus: int, memory_mb: int) -> Path:
    wanted = [name for name, used in (("cpu", cpus > 0), ("memory", memory_mb > 0)) if used]
    available = (root / "cgroup.controllers").read_text().split()
    missing = [name for name in wanted if name not in available]
    if missing:
        raise OSError(errno.ENOTSUP, f"controllers {', '.join(missing)} not available")
    parent = root / GROUP
    parent.mkdir(exist_ok=True)
    for folder in (root, parent):
        for name in wanted:
            (folder / "cgroup.subtree_control").write_text(f"+{name}")
    folder = parent / node_id
    folder.mkdir(exist_ok=True)
    if memory_mb > 0:
        (folder / "memory.max").write_text(str(memory_mb * 1_000_000))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
    if cpus > 0:
        (folder / "cpu.max").write_text(f"{cpus * PERIOD_US} {PERIOD_US}")
    return folder


def _create_v1(hierarchy: Path, node_id: str) -> Path:
    if not hierarchy.is_dir():
        raise OSError(errno.ENOENT, f"no cgroup v1 hierarchy at {hierarchy}")
    folder = hierarchy / GROUP / node_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_v1_memory(folder: Path, limit: int) -> None:
    (folder / "memory.limit_in_bytes").write_text(str(limit))
    swap = folder / "memory.memsw.limit_in_bytes"
    if swap.exists():
        # Absent or refused without swap accounting; the memory limit alone still holds.
        with contextlib.suppress(OSError):
            swap.write_text(str(limit))


def node_folders(node_id: str, root: Path = ROOT) -> list[Path]:
    """Every folder `create` may have made for the node, existing or not (cleanup after a crash)."""
    return [root / GROUP / node_id, root / "memory" / GROUP / node_id, root / "cpu" / GROUP / node_id]


def remove(folders: list[Path]) -> None:
    """Remove the node's cgroups, waiting a little for the processes still leaving them."""
    for folder in folders:
        deadline = time.monotonic() + REMOVE_SECS
        while True:
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError as error:
                if error.errno != errno.EBUSY or time.monotonic() > deadline:
                    log.warning("cannot remove the cgroup %s: %s", folder, error)
                    break
                time.sleep(0.05)
