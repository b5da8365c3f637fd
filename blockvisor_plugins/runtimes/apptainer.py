"""The `apptainer` runtime: each node an Apptainer instance over a writable sandbox (spec §4).

The commands and flags are the original's: `apptainer build --force --sandbox` from the node's image,
`apptainer instance run` with the node's data bound at `/blockjoy`, its hostname, its cgroups file
and its bridge address, `apptainer exec ... instance://<id>` to run the agent's commands in the
node, `apptainer instance stop`, and `apptainer instance list` to find a running instance. The
`apptainer` executable is looked up on PATH at every call. Per-node files are the spec's:
`<node_dir>/rootfs/`, `cgroups.toml`, `apptainer.pid`; what the node agent needs in other processes
is also in `<node_dir>/runtime/apptainer.json`.
"""

import contextlib
import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs

from blockvisor_core.files import write_atomic
from blockvisor_core.node_access import NodeAccess
from blockvisor_core.runtime import NodeSpec, RuntimeStatus

from .state import host_env, is_alive, process_start_time, read_state, remove_state, update_state

log = logging.getLogger(__name__)

NAME = "apptainer"
#: The host's journal, bound into every node for logging (only where the host runs systemd's journal).
JOURNAL = Path("/run/systemd/journal")
#: The node's environment file (`KEY="value"` lines, spec §3.15), for `exec --env-file`: the file the
#: host writes in the node's folder (the original kept it in the root, beside its in-container agent).
NODE_ENV_FILE = "var/lib/babel/node_env"
CPU_PERIOD_US = 100_000


class ApptainerRuntime:
    """Apptainer instances. `extra_args` go to `instance run` before the image (host config);
    `stop_timeout`: seconds to wait for a stopped instance's processes to end."""

    name = NAME

    def __init__(self, *, extra_args: tuple[str, ...] = (), stop_timeout: float = 60.0) -> None:
        self.extra_args = tuple(extra_args)
        self.stop_timeout = stop_timeout

    def available(self) -> bool:
        return shutil.which("apptainer") is not None

    # -- build (spec §4.2) ------------------------------------------------------------------------------

    def create(self, node: NodeSpec) -> None:
        node.node_dir.mkdir(parents=True, exist_ok=True)
        node.data_dir.mkdir(parents=True, exist_ok=True)
        rootfs = node.node_dir / "rootfs"
        if not self._built(rootfs):
            uri = image_uri(node)
            self._run(
                ["build", "--force", "--sandbox", str(rootfs), uri],
                f"failed to build '{node.id}' from `{uri}`",
            )
            for folder in (node.data_mount_point, "run/systemd/journal", "var/lib/babel"):
                (rootfs / folder.strip("/")).mkdir(parents=True, exist_ok=True)
        cgroups_file = node.node_dir / "cgroups.toml"
        limits = cgroups_toml(node)
        if limits:
            write_atomic(cgroups_file, limits)
        else:
            cgroups_file.unlink(missing_ok=True)
        # `exec --env-file` needs the file; the host fills it with the node's environment.
        env_file = node.node_dir / NODE_ENV_FILE
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.touch()
        update_state(node.node_dir, NAME, **_static(node), started=False)

    def _built(self, rootfs: Path) -> bool:
        """Whether `rootfs` is a built sandbox: `apptainer inspect` names its definition file."""
        if not rootfs.exists():
            return False
        output = self._run(["inspect", "-d", "--json", str(rootfs)], f"cannot inspect {rootfs}")
        try:
            deffile = json.loads(output)["data"]["attributes"].get("deffile")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise RuntimeError(f"apptainer inspect {rootfs}: unexpected output: {error}") from None
        return isinstance(deffile, str)

    # -- start (spec §4.3) ------------------------------------------------------------------------------

    def start(self, node: NodeSpec) -> None:
        if self.status(node) is RuntimeStatus.RUNNING:
            return
        pid_file = node.node_dir / "apptainer.pid"
        pid_file.unlink(missing_ok=True)
        self._run(instance_run_args(node, self.extra_args), f"failed to start node {node.id}")
        pid = self._find_pid(node)
        if pid is None:
            raise RuntimeError(f"node {node.id}: the instance started, but its pid is nowhere to be found")
        update_state(
            node.node_dir,
            NAME,
            **_static(node),
            init={"pid": pid, "start": process_start_time(pid)},
            started=True,
        )
        if node.network is not None:
            # Makes the bridge learn the node's address at once (spec: failure only warned).
            ping = ["exec", f"instance://{node.id}", "ping", "-c", "6", "-i", "0.25", node.network.gateway]
            result = self._call(ping)
            if result.returncode != 0:
                log.warning("node %s: ARP refresh failed: %s", node.id, result.stderr.strip())

    # -- state (spec §4.4) ------------------------------------------------------------------------------

    def _find_pid(self, node: NodeSpec) -> int | None:
        """The instance's pid: from `apptainer.pid`, else from `apptainer instance list` (saved to it)."""
        pid_file = node.node_dir / "apptainer.pid"
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(pid_file.read_text().strip())
        if not self.available():
            return None
        result = self._call(["instance", "list", "--json", node.id])
        if result.returncode != 0:
            return None
        try:
            instances = json.loads(result.stdout).get("instances") or []
            pid = int(instances[0]["pid"]) if instances else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if pid is not None:
            write_atomic(pid_file, f"{pid}\n")
        return pid

    def _running_pid(self, node: NodeSpec, state: dict[str, Any] | None) -> int | None:
        pid = self._find_pid(node)
        if pid is None:
            return None
        init = (state or {}).get("init") or {}
        # The start time recorded at start tells the instance from a process that took its pid later.
        start = init.get("start") if init.get("pid") == pid else None
        return pid if is_alive(pid, start) else None

    def status(self, node: NodeSpec) -> RuntimeStatus:
        state = read_state(node.node_dir, NAME)
        if state is None and not (node.node_dir / "apptainer.pid").exists():
            return RuntimeStatus.STOPPED
        if self._running_pid(node, state) is not None:
            return RuntimeStatus.RUNNING
        return RuntimeStatus.FAILED if state and state.get("started") else RuntimeStatus.STOPPED

    # -- stop, delete (spec §4.5) -----------------------------------------------------------------------

    def stop(self, node: NodeSpec, *, force: bool) -> None:
        state = read_state(node.node_dir, NAME)
        pid = self._running_pid(node, state)
        if pid is not None:
            result = self._call(["instance", "stop", *(["--force"] if force else []), node.id])
            if result.returncode != 0:
                if self._listed(node.id):
                    raise RuntimeError(f"apptainer instance stop {node.id}: {result.stderr.strip()}")
                log.warning(
                    "node %s: instance stop failed, but the instance is gone: %s", node.id, result.stderr
                )
            deadline = time.monotonic() + self.stop_timeout
            while is_alive(pid):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {node.id}: VM shutdown timeout")
                time.sleep(0.05)
        (node.node_dir / "apptainer.pid").unlink(missing_ok=True)
        if state is not None:
            update_state(node.node_dir, NAME, init=None, started=False)

    def _listed(self, node_id: str) -> bool:
        """Whether `apptainer instance list <id>` still shows the instance."""
        result = self._call(["instance", "list", node_id])
        return any(line.split()[:1] == [node_id] for line in result.stdout.splitlines())

    def delete(self, node: NodeSpec) -> None:
        try:
            self.stop(node, force=False)
        except RuntimeError as error:
            log.warning("node %s: graceful stop failed (%s); forcing it", node.id, error)
            self.stop(node, force=True)
        for folder in ("rootfs", "rootfs_backup"):
            shutil.rmtree(node.node_dir / folder, ignore_errors=True)
        (node.node_dir / "cgroups.toml").unlink(missing_ok=True)
        remove_state(node.node_dir, NAME)

    # -- the agent's way in -----------------------------------------------------------------------------

    def node_access(self, node_dir: Path) -> NodeAccess:
        state = read_state(node_dir, NAME)
        if state is None:
            raise RuntimeError(f"{node_dir}: no apptainer node here (never created, or deleted)")
        rootfs = node_dir / "rootfs"
        netns = None
        if state.get("network"):
            init = state.get("init") or {}
            alive = is_alive(init.get("pid", 0), init.get("start"))
            # A stopped node's namespace file does not exist: HTTP calls fail instead of using the host's.
            netns = Path(f"/proc/{init['pid'] if alive else 0}/ns/net")
        return NodeAccess(
            exec_prefix=exec_prefix(state["node_id"], node_dir),
            env={**host_env(), "HOME": "/root"},
            cwd="/",
            mounts={"/": rootfs.resolve(), state["data_mount_point"]: Path(state["data_dir"])},
            netns=netns,
        )

    # -- running apptainer ------------------------------------------------------------------------------

    def _call(self, args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([apptainer(), *args], capture_output=True, text=True, check=False)

    def _run(self, args: list[str], error: str) -> str:
        result = self._call(args)
        if result.returncode != 0:
            raise RuntimeError(f"{error}: {result.stderr.strip() or f'exit {result.returncode}'}")
        return result.stdout


def apptainer() -> str:
    found = shutil.which("apptainer")
    if found is None:
        raise RuntimeError("apptainer is not installed (not on PATH)")
    return found


def image_uri(node: NodeSpec) -> str:
    """What the sandbox is built from: the node's container URI, else its rootfs folder or SIF file."""
    if node.container_uri:
        return node.container_uri
    if node.rootfs is not None and (node.rootfs.is_dir() or node.rootfs.suffix == ".sif"):
        return str(node.rootfs)
    raise ValueError(f"node {node.id}: apptainer needs a container_uri, or a rootfs folder or SIF file")


def cgroups_toml(node: NodeSpec) -> str:
    """The `--apply-cgroups` file: the memory limit in bytes (MB of 10^6), CPUs as a quota of time."""
    text = ""
    if node.memory_mb > 0:
        text += f"[memory]\nlimit = {node.memory_mb * 1_000_000}\n"
    if node.cpus > 0:
        text += "\n" if text else ""
        text += f"[cpu]\nquota = {node.cpus * CPU_PERIOD_US}\nperiod = {CPU_PERIOD_US}\n"
    return text


def instance_run_args(node: NodeSpec, extra_args: tuple[str, ...] = ()) -> list[str]:
    """`apptainer instance run ...` for the node (spec §4.3), without the executable."""
    args = [
        "instance",
        "run",
        "--containall",
        "--writable",
        "--pid-file",
        str(node.node_dir / "apptainer.pid"),
    ]
    if JOURNAL.exists():
        args += ["--bind", str(JOURNAL)]
    args += ["--bind", f"{node.data_dir}:{node.data_mount_point}"]
    args += ["--hostname", node.name.replace("_", "-"), "--no-mount", "home,cwd,tmp"]
    if node.cpus > 0 or node.memory_mb > 0:
        args += ["--apply-cgroups", str(node.node_dir / "cgroups.toml")]
    if node.network is not None:
        net = node.network
        args += [
            "--net",
            "--network",
            "bridge",
            "--network-args",
            f"IP={net.ip}/{net.prefix};GATEWAY={net.gateway}",
        ]
    return [*args, *extra_args, str(node.node_dir / "rootfs"), node.id]


def exec_prefix(node_id: str, node_dir: Path) -> tuple[str, ...]:
    """`apptainer exec ... instance://<id>`: how the agent runs a command in the node (spec §4.3)."""
    env_file = str(node_dir / NODE_ENV_FILE)
    # Not `apptainer()`: a host without apptainer still answers for the node's files; its commands fail.
    executable = shutil.which("apptainer") or "apptainer"
    return (
        executable,
        "exec",
        "--ipc",
        "--cleanenv",
        "--userns",
        "--pid",
        "--env-file",
        env_file,
        f"instance://{node_id}",
    )


def _static(node: NodeSpec) -> dict[str, Any]:
    return {
        "node_id": node.id,
        "data_dir": str(node.data_dir.resolve()),
        "data_mount_point": node.data_mount_point,
        "network": attrs.asdict(node.network) if node.network else None,
    }
