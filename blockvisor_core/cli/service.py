"""Starting and stopping `blockvisord` for this `BV_ROOT` without systemd (`bv start`, `bv stop`).

`bv start` runs the `blockvisord` installed beside `bv` (or the first on PATH) in a session of its own,
detached from the terminal (it logs to `<logs>/blockvisord.log` itself), and waits until its `Info`
answers; if it exits instead, the last line it logged says why. `bv stop` sends SIGTERM to the daemon of
this root and waits until it is gone. The daemon is found through the pid file it writes,
`VAR/blockvisord.pid`, and otherwise as the process that listens on the root's socket (the socket's
peer credentials), so a daemon started by hand is found too.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from blockvisor_core.cli.client import DaemonClient, DaemonNotRunning
from blockvisor_core.cli.errors import CliError
from blockvisor_core.cli.logs import LogFile
from blockvisor_core.paths import Paths
from blockvisor_core.protos import blockvisor_pb2 as pb

DAEMON = "blockvisord"

#: Seconds `bv start` waits for the daemon to answer, and `bv stop` for it to exit.
START_TIMEOUT_SECS = 5.0
STOP_TIMEOUT_SECS = 15.0

#: Seconds between two looks at the daemon while waiting.
POLL_SECS = 0.5


def pid_file(paths: Paths) -> Path:
    """Where the daemon writes its pid."""
    return paths.var / f"{DAEMON}.pid"


def log_file(paths: Paths) -> Path:
    """The log the daemon writes (its standard output and error are not kept: they repeat it)."""
    return paths.logs / f"{DAEMON}.log"


def running_info(paths: Paths) -> pb.InfoReply | None:
    """The daemon's `Info`, or None when no daemon listens on the root's socket."""
    try:
        with DaemonClient(paths.socket) as client:
            return client.info()
    except DaemonNotRunning:
        return None


def daemon_command() -> list[str]:
    """The `blockvisord` of this installation: beside the running Python (a virtualenv), or on PATH."""
    beside = Path(sys.executable).parent / DAEMON
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    if found := shutil.which(DAEMON):
        return [found]
    raise CliError(f"{DAEMON} not found beside {sys.executable} nor on PATH")


def start_daemon(paths: Paths) -> pb.InfoReply:
    """Start the daemon of `paths.root` in the background and return its `Info` once it answers."""
    # Only what this start adds to the daemon's log explains a failure.
    log = LogFile(DAEMON, log_file(paths))
    log.last_lines(0, keep_open=True)
    try:
        process = subprocess.Popen(
            daemon_command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
            env={**os.environ, "BV_ROOT": str(paths.root)},
        )
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while True:
            time.sleep(POLL_SECS)
            if (code := process.poll()) is not None:
                lines = [line for line in log.new_lines() if line.strip()]
                reason = f": {lines[-1].strip()}" if lines else " before writing its log"
                raise CliError(
                    f"blockvisor service did not start: {DAEMON} exited with code {code}{reason} "
                    f"(see {log.path})"
                )
            try:
                with DaemonClient(paths.socket) as client:
                    return client.info()
            except DaemonNotRunning as error:
                if time.monotonic() > deadline:
                    raise CliError(f"blockvisor service did not start: {error} (see {log.path})") from None
    finally:
        log.close()


def stop_daemon(paths: Paths) -> bool:
    """Send SIGTERM to the daemon of `paths.root` and wait until it has exited; False if none runs."""
    pid = daemon_pid(paths)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    except PermissionError:
        raise CliError(f"not allowed to stop {DAEMON} (pid {pid}); run `bv stop` as its user") from None
    deadline = time.monotonic() + STOP_TIMEOUT_SECS
    while _alive(pid):
        if time.monotonic() > deadline:
            raise CliError(f"blockvisor service did not stop: {DAEMON} (pid {pid}) still runs")
        time.sleep(POLL_SECS / 5)
    return True


def daemon_pid(paths: Paths) -> int | None:
    """The pid of the daemon of `paths.root`: from its pid file when that names a live daemon, else the
    process listening on the root's socket; None when there is neither."""
    try:
        pid = int(pid_file(paths).read_text().strip())
    except (OSError, ValueError):
        pid = None
    if pid is not None and _alive(pid) and _is_daemon(pid):
        return pid
    return _socket_owner(paths.socket)


def _alive(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _is_daemon(pid: int) -> bool:
    """Whether `pid` runs blockvisord (a stale pid file may name a pid reused by something else)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(Path(os.fsdecode(arg)).name == DAEMON for arg in argv)


def _socket_owner(path: Path) -> int | None:
    """The pid of the process listening on the Unix socket `path`, from the connection's peer credentials."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        credentials = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    finally:
        probe.close()
    pid, _uid, _gid = struct.unpack("3i", credentials)
    return pid
