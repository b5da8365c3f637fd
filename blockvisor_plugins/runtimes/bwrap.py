"""The `bwrap` runtime: each node in a bubblewrap sandbox with its own mounts, PIDs, IPC, hostname and
(unless it uses the host's) network, and its own CPU and memory limits where cgroups allow.

A running node is one long-lived sandbox: `bwrap` with the node's root (`<node_dir>/rootfs`, a private
copy of a folder or tarball, or a read-only view of the host's system folders), its data folder at
`/blockjoy`, a fresh /proc and /dev, running a shell that only waits. The sandbox is launched detached
(its own session, no parent to die with), so nodes outlive the daemon. Everything else a node runs,
its services included, is started by the node agent through the node's `NodeAccess`: the exec prefix
is `bwrap_enter.py --target <init pid>:<start time>`, which joins the node's cgroups and namespaces and
root, drops the capabilities a node never gets, and runs the command there. Files are reached
through `mounts` (`/` -> the root folder, `/blockjoy` -> the data folder), the network through the
node's named namespace.

What the runtime must remember (the sandbox's init, namespace, cgroups) is in
`<node_dir>/runtime/bwrap.json`, written atomically, read by whichever process asks.
"""

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs

from blockvisor_core.node_access import NodeAccess
from blockvisor_core.runtime import NodeSpec, RuntimeStatus

from . import cgroups, network, rootfs
from .state import FOLDER, is_alive, process_start_time, read_state, remove_state, update_state, write_state

log = logging.getLogger(__name__)

NAME = "bwrap"
HELPER = Path(__file__).with_name("bwrap_enter.py")
#: The sandbox's init: tell the runtime it runs, then wait forever on a pipe whose write end it holds
#: itself (fd 3 onwards), so it needs nothing but `sh` in the node's root.
INIT = "echo ready; exec >/dev/null; read -r _"
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NODE_ENV = {"PATH": NODE_PATH, "HOME": "/root", "LANG": "C.UTF-8"}
START_SECS = 10.0
KILL_SECS = 10.0


class BwrapRuntime:
    """Bubblewrap sandboxes. `stop_timeout`: seconds a graceful stop waits before killing."""

    name = NAME

    def __init__(self, *, stop_timeout: float = 60.0) -> None:
        self.stop_timeout = stop_timeout

    def available(self) -> bool:
        return shutil.which("bwrap") is not None and shutil.which("ip") is not None

    def create(self, node: NodeSpec) -> None:
        if self.status(node) is RuntimeStatus.RUNNING:
            raise RuntimeError(f"node {node.id}: cannot create the root of a running node")
        node.node_dir.mkdir(parents=True, exist_ok=True)
        node.data_dir.mkdir(parents=True, exist_ok=True)
        kind = rootfs.prepare(_rootfs(node.node_dir), node.rootfs, (node.data_mount_point,))
        write_state(
            node.node_dir, NAME, {**_static(node), "rootfs_kind": kind, "init": None, "started": False}
        )

    def start(self, node: NodeSpec) -> None:
        if self.status(node) is RuntimeStatus.RUNNING:
            return
        state = read_state(node.node_dir, NAME)
        if state is None or not _rootfs(node.node_dir).is_dir():
            raise RuntimeError(f"node {node.id}: not created (no root file system in {node.node_dir})")
        # Cgroups left by a crash are reused (create rewrites the limits); `network.set_up` replaces a
        # leftover namespace.
        folders = cgroups.create(node.id, node.cpus, node.memory_mb)
        try:
            netns = network.set_up(node.id, node.network) if node.network else None
            pid, start = _launch(node, state["rootfs_kind"], folders, netns)
        except BaseException:
            _clean_up(node.id, {"cgroups": [str(folder) for folder in folders]})
            raise
        update_state(
            node.node_dir,
            NAME,
            **_static(node),
            cgroups=[str(folder) for folder in folders],
            init={"pid": pid, "start": start},
            started=True,
        )
        log.info("node %s: sandbox started (init pid %d)", node.id, pid)

    def stop(self, node: NodeSpec, *, force: bool) -> None:
        state = read_state(node.node_dir, NAME)
        if state is None:
            return
        init = state.get("init")
        if init and is_alive(init["pid"], init["start"]):
            _kill_sandbox(init["pid"], init["start"], 0 if force else self.stop_timeout)
        _clean_up(node.id, state)
        update_state(node.node_dir, NAME, init=None, started=False, cgroups=[])

    def delete(self, node: NodeSpec) -> None:
        self.stop(node, force=True)
        rootfs.remove(_rootfs(node.node_dir))
        (node.node_dir / FOLDER / "bwrap.log").unlink(missing_ok=True)
        remove_state(node.node_dir, NAME)

    def status(self, node: NodeSpec) -> RuntimeStatus:
        state = read_state(node.node_dir, NAME)
        if state is None:
            return RuntimeStatus.STOPPED
        init = state.get("init")
        if init and is_alive(init["pid"], init["start"]):
            return RuntimeStatus.RUNNING
        # Started and never stopped, yet gone: the sandbox died under the node.
        return RuntimeStatus.FAILED if state.get("started") else RuntimeStatus.STOPPED

    def node_access(self, node_dir: Path) -> NodeAccess:
        state = read_state(node_dir, NAME)
        if state is None:
            raise RuntimeError(f"{node_dir}: no bwrap node here (never created, or deleted)")
        # A stopped node keeps a target that cannot match a process: its commands are refused (125).
        init = state.get("init") or {"pid": 0, "start": 0}
        prefix = [
            *helper_command(state.get("cgroups", [])),
            "--target",
            f"{init['pid']}:{init['start']}",
            "--",
        ]
        return NodeAccess(
            exec_prefix=tuple(prefix),
            env=dict(NODE_ENV),
            cwd="/",
            mounts={"/": Path(state["rootfs"]), state["data_mount_point"]: Path(state["data_dir"])},
            netns=network.netns_path(state["node_id"]) if state.get("network") else None,
        )


def helper_command(folders: list[str]) -> list[str]:
    """The start of a `bwrap_enter.py` command line that joins the cgroups `folders`."""
    command = [sys.executable, "-I", "-S", str(HELPER)]
    for folder in folders:
        command += ["--cgroup", folder]
    return command


def _rootfs(node_dir: Path) -> Path:
    return node_dir / "rootfs"


def _static(node: NodeSpec) -> dict[str, Any]:
    """What the node spec says that later answers (node access, stop) need."""
    return {
        "node_id": node.id,
        "hostname": node.name.replace("_", "-")[:63],
        "rootfs": str(_rootfs(node.node_dir).resolve()),
        "data_dir": str(node.data_dir.resolve()),
        "data_mount_point": node.data_mount_point,
        "network": attrs.asdict(node.network) if node.network else None,
    }


def _bwrap_args(node: NodeSpec, kind: str, info_fd: int) -> list[str]:
    args = [
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--hostname",
        node.name.replace("_", "-")[:63],
        "--bind",
        str(_rootfs(node.node_dir).resolve()),
        "/",
    ]
    if kind == "host":
        args += rootfs.host_view_binds()
    args += ["--bind", str(node.data_dir.resolve()), node.data_mount_point]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/", "--info-fd", str(info_fd)]
    return args


def _launch(node: NodeSpec, kind: str, folders: list[Path], netns: Path | None) -> tuple[int, int]:
    """Launch the node's sandbox, detached; its init's pid and start time once it runs."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bwrap is not installed (install the bubblewrap package)")
    log_path = node.node_dir / FOLDER / "bwrap.log"
    info_r, info_w = os.pipe()
    ready_r, ready_w = os.pipe()
    keep_r, keep_w = os.pipe()
    command = helper_command([str(folder) for folder in folders])
    if netns is not None:
        command += ["--netns", str(netns)]
    command += ["--detach", "--", bwrap, *_bwrap_args(node, kind, info_w), "--", "sh", "-c", INIT, "bv-init"]
    try:
        with log_path.open("ab") as log_file:
            helper = subprocess.run(
                command,
                stdin=keep_r,
                stdout=ready_w,
                stderr=log_file,
                pass_fds=(info_w, keep_w),
                env=NODE_ENV,
                cwd="/",
                check=False,
            )
    finally:
        for fd in (info_w, ready_w, keep_r, keep_w):
            os.close(fd)
    try:
        if helper.returncode != 0:
            raise RuntimeError(f"node {node.id}: cannot launch the sandbox: {_log_tail(log_path)}")
        deadline = time.monotonic() + START_SECS
        info = _read_until(info_r, deadline, _complete_json)
        pid = json.loads(info)["child-pid"] if _complete_json(info) else None
        if b"ready" not in _read_until(ready_r, deadline, lambda data: b"\n" in data):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise RuntimeError(f"node {node.id}: the sandbox did not start: {_log_tail(log_path)}")
    finally:
        os.close(info_r)
        os.close(ready_r)
    start = process_start_time(pid)
    if start is None:
        raise RuntimeError(f"node {node.id}: the sandbox ended at once: {_log_tail(log_path)}")
    return pid, start


def _complete_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _read_until(fd: int, deadline: float, complete) -> bytes:
    """Read `fd` until `complete(data)`, end of file, or the deadline."""
    data = b""
    while not complete(data):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return "(no log)"
    return text[-2000:] or "(nothing logged)"


def _namespace_members(pid: int) -> list[tuple[int, int]]:
    """(host pid, pid inside) of every process in the PID namespace of `pid`."""
    try:
        namespace = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"{entry.path}/ns/pid") != namespace:
                continue
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue
        members.append((int(entry.name), int(fields.get("NSpid", "0").split()[-1])))
    return members


def _kill_sandbox(pid: int, start: int, timeout: float) -> None:
    """Stop every process of the sandbox whose init is `pid`: SIGTERM to all but the sandbox's own
    two (bwrap's reaper, pid 1, and the waiting shell, pid 2, whose exit would kill the rest at once),
    up to `timeout` seconds for them to end, then SIGKILL to pid 1, which ends the whole namespace."""
    if timeout > 0:
        for member, inside in _namespace_members(pid):
            if inside > 2:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(member, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(inside > 2 for _, inside in _namespace_members(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
    if is_alive(pid, start):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_SECS
    while is_alive(pid, start):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox init {pid} survived SIGKILL for {KILL_SECS:g} s")
        time.sleep(0.02)


def _clean_up(node_id: str, state: dict[str, Any]) -> None:
    """Remove the node's network namespace and cgroups, whatever a crash left of them."""
    network.tear_down(node_id)
    folders = {Path(folder) for folder in state.get("cgroups", [])} | set(cgroups.node_folders(node_id))
    cgroups.remove(sorted(folders))
