"""The job runner: one process per running job, detached from the agent, that runs the job to its end.

Started by the jobs manager as `python -m blockvisor_core.agent.runner --node-dir DIR --runtime NAME JOB`
in a session of its own, so that killing the agent (even with SIGKILL) leaves it running; a restarted
agent finds it again by its pid file and command line. It reads `babel.conf` and the job's `config.json`,
runs the job's body under its restart policy (spec §2.7, §2.8), and writes `status.json` only when the job
reaches a final status. SIGTERM or SIGINT stops it gracefully: the body is stopped and nothing is
written, so the manager decides what the stop means.

This module also holds what the runner and the manager share: the layout of a job's folder
(`JobFolder`), its event log (`JobEvents`) and how a runner process is recognised (`runner_argv`,
`is_runner`).
"""

import argparse
import contextlib
import datetime
import fcntl
import functools
import gzip
import itertools
import json
import logging
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from babel_api.models import JobConfig, JobProgress, JobStatus, NodeEnv, PosixSignal
from blockvisor_core.agent.restarts import Restarts
from blockvisor_core.agent.shell import shell_body
from blockvisor_core.files import write_atomic
from blockvisor_core.job_kinds import JobContext, JobKind
from blockvisor_core.node_access import NodeAccess
from blockvisor_core.paths import babel_dir
from blockvisor_core.plugins import plugin_manager

log = logging.getLogger(__name__)

MODULE = "blockvisor_core.agent.runner"

#: Seconds a job gets to end after its shutdown signal when its config names no timeout.
DEFAULT_SHUTDOWN_TIMEOUT = 60
#: MB (10^6 bytes) of `logs` before it is rotated, when the config names no capacity.
DEFAULT_LOG_CAPACITY_MB = 128
#: Rotated, gzip-compressed generations of `logs` kept beside it.
LOG_GENERATIONS = 2
#: JobInfo log entries and restart stamps kept, the longest message kept, and for how long (seconds).
MAX_EVENTS = 1024
MAX_MESSAGE = 1024
EVENT_LIFETIME = 24 * 3600
#: A line of output longer than this is logged in pieces, so that output without newlines cannot
#: exhaust the runner's memory.
_LINE_LIMIT = 2**16


def runner_argv(node_dir: Path, runtime: str, name: str) -> list[str]:
    """The command line of the runner of job `name`; also how a live runner is recognised."""
    return [sys.executable, "-m", MODULE, "--node-dir", str(node_dir), "--runtime", runtime, name]


def process_cmdline(pid: int) -> list[str] | None:
    """The command line of process `pid`; None when it is gone. A zombie has an empty one."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="surrogateescape").split("\0")[:-1]


def is_runner(pid: int, argv: list[str]) -> bool:
    """Whether `pid` is a live process running `argv` (any interpreter): a reused pid never matches."""
    cmdline = process_cmdline(pid)
    return cmdline is not None and cmdline[1:] == argv[1:]


def process_start_ns(pid: int) -> int | None:
    """When process `pid` started, in nanoseconds since the epoch (10 ms precision); None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return int(boot.split()[1]) * 10**9 + ticks * 10**9 // os.sysconf("SC_CLK_TCK")


def wait_gone(pid: int, alive: Callable[[], bool], timeout: float) -> bool:
    """Wait up to `timeout` seconds until `alive()` turns false; whether it did. Sleeps on a pidfd of
    `pid` where the kernel offers one, else polls."""
    deadline = time.monotonic() + timeout
    while alive():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        except (AttributeError, OSError):
            time.sleep(min(left, 0.05))
            continue
        try:
            select.select([pidfd], [], [], left)
        finally:
            os.close(pidfd)
        # A readable pidfd means the process ended; `alive` may need a moment to see its zombie reaped.
        time.sleep(0.001)
    return True


def local_time(seconds: float) -> str:
    """A moment as the agent writes it in logs: local date and time with milliseconds and UTC offset."""
    return datetime.datetime.fromtimestamp(seconds).astimezone().isoformat(" ", "milliseconds")


class JobEvents:
    """A job's event log, `events.jsonl`: the messages and restart stamps that JobInfo reports.

    The runner and the manager both append to it (one JSON object per line), each under an exclusive
    lock on the job's folder, so it survives agent and runner restarts. Reading prunes it (spec §2.13,
    without the original's defects): entries a day old or older go, at most `MAX_EVENTS` messages and
    `MAX_EVENTS` restart stamps stay, and the file is rewritten atomically when anything went.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "events.jsonl"

    def log(self, message: str, at: float | None = None) -> None:
        """Record a message (cut to `MAX_MESSAGE` characters)."""
        self._append({"at": time.time() if at is None else at, "log": message[:MAX_MESSAGE]})

    def restart(self, at: float | None = None) -> None:
        """Record that the job was restarted."""
        self._append({"at": time.time() if at is None else at, "restart": True})

    def read(self, now: float) -> tuple[list[tuple[float, str]], list[float]]:
        """The messages, newest first, and the restart stamps still kept at `now`."""
        with self._locked():
            try:
                lines = self.path.read_text(errors="replace").splitlines()
            except FileNotFoundError:
                return [], []
            events = []
            for line in lines:
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    event = json.loads(line)
                    if now - float(event["at"]) < EVENT_LIFETIME:
                        events.append(event)
            logs = [event for event in events if isinstance(event.get("log"), str)][-MAX_EVENTS:]
            restarts = [event for event in events if event.get("restart") is True][-MAX_EVENTS:]
            if len(logs) + len(restarts) < len(lines):
                kept = sorted(logs + restarts, key=lambda event: event["at"])
                write_atomic(self.path, "".join(json.dumps(event) + "\n" for event in kept))
        return [(event["at"], event["log"]) for event in reversed(logs)], [event["at"] for event in restarts]

    def clear(self) -> None:
        with self._locked():
            self.path.unlink(missing_ok=True)

    def _append(self, event: dict) -> None:
        with self._locked(), self.path.open("a") as file:
            file.write(json.dumps(event) + "\n")

    @contextlib.contextmanager
    def _locked(self):
        handle = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)


class JobFolder:
    """The files of one job under `var/lib/babel/jobs/<name>/` (spec §2.2), plus the agent's own:
    `runner.pid` (the runner's pid, written by the manager), `runner.log` (the runner's own output, kept
    for the last run only), `script.pid` (the pid of a run_sh job's shell, leader of its process group)
    and `events.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = path / "config.json"
        self.status = path / "status.json"
        self.progress = path / "progress.json"
        self.logs = path / "logs"
        self.runner_pid = path / "runner.pid"
        self.runner_log = path / "runner.log"
        self.script_pid = path / "script.pid"
        self.events = JobEvents(path)

    def read_config(self) -> JobConfig:
        return JobConfig.from_json(json.loads(self.config.read_text()))

    def read_status(self) -> JobStatus:
        return JobStatus.from_json(json.loads(self.status.read_text()))

    def write_status(self, status: JobStatus) -> None:
        write_atomic(self.status, json.dumps(status.to_json()))

    def write_progress(self, progress: JobProgress) -> None:
        write_atomic(self.progress, json.dumps(progress.to_json()))

    def read_pid(self, path: Path) -> int | None:
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            return None


class LogFile:
    """Appends a job's output to its `logs` file, rotating it once it holds `limit` bytes or more: the
    full file is compressed to `logs.1.gz` and older generations shift up to `logs.<LOG_GENERATIONS>.gz`.
    Lines from several threads are written whole, one at a time."""

    def __init__(self, path: Path, limit: int) -> None:
        self._path = path
        self._limit = limit
        self._lock = threading.Lock()
        self._file = path.open("ab")
        self._size = self._file.tell()

    def write(self, line: bytes) -> None:
        with self._lock:
            self._file.write(line)
            self._file.flush()
            self._size += len(line)
            if self._size >= self._limit:
                self._rotate()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def _rotate(self) -> None:
        self._file.close()
        rotated = [self._path.with_name(f"{self._path.name}.{n}.gz") for n in range(1, LOG_GENERATIONS + 1)]
        for older, newer in reversed(list(itertools.pairwise(rotated))):
            if older.exists():
                older.replace(newer)
        full = self._path.with_name(f".{self._path.name}.rotating")
        self._path.replace(full)
        self._file = self._path.open("ab")
        self._size = 0
        compressed = rotated[0].with_name(f".{rotated[0].name}.tmp")
        with full.open("rb") as source, gzip.open(compressed, "wb") as target:
            shutil.copyfileobj(source, target)
        compressed.replace(rotated[0])
        full.unlink()


class JobRunner:
    """One job of a node, run to its final status or until `stop` is set.

    `wake_fd` (optional) is a descriptor that becomes readable when a signal arrives, so that waiting for
    the job's process also notices a stop request at once. `clock` and `sleep` drive the restart backoff.
    """

    def __init__(
        self,
        node_dir: Path,
        runtime: str,
        name: str,
        *,
        stop: threading.Event,
        wake_fd: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.name = name
        self.node_dir = node_dir
        self.stop = stop
        self.wake_fd = wake_fd
        self.clock = clock
        self.sleep = sleep
        self.folder = JobFolder(babel_dir(node_dir) / "jobs" / name)
        babel_conf = json.loads((babel_dir(node_dir) / "babel.conf").read_text())
        if not isinstance(babel_conf, dict):
            raise ValueError("babel.conf: expected a map with node_env")
        self.node_env = NodeEnv.from_json(babel_conf.get("node_env"))
        self.config = self.folder.read_config()
        access = plugin_manager().hook.runtime_node_access(runtime=runtime, node_dir=node_dir)
        if access is None:
            raise ValueError(f"unknown runtime {runtime!r}: no installed plugin provides it")
        self.access: NodeAccess = access

    def restarts(self) -> Restarts:
        """The restart policy of this runner's job, recording to the job's events."""
        return Restarts(
            self.config.restart,
            stop=self.stop,
            log=self.folder.events.log,
            restarted=self.folder.events.restart,
            clock=self.clock,
            sleep=self.sleep,
        )

    def run(self) -> None:
        """Steps 4 to 7 of spec §2.7: one_time restore, protocol-data touch, the body, one_time backup."""
        data = PurePosixPath(self.node_env.data_mount_point)
        backup = self.access.host_path(data / ".babel_jobs" / self.name) if self.config.one_time else None
        if backup is not None and _restore(backup, self.folder):
            return
        try:
            if self.config.use_protocol_data:
                lock = self.access.host_path(data / ".protocol_data.lock")
                lock.parent.mkdir(parents=True, exist_ok=True)
                lock.touch()
            body = job_body(self.config.job_type.kind)
            if body is None:
                kind = self.config.job_type.kind
                final = JobStatus.finished(None, f"job '{self.name}': no installed plugin runs '{kind}' jobs")
            else:
                final = body(self)
            if final is not None:
                self.folder.write_status(final)
        finally:
            if backup is not None:
                _backup(self.folder, backup)


# -- one_time jobs (spec §2.10) -----------------------------------------------------------------------------

#: The files of a job that a one_time backup keeps: its outcome, not its config or the agent's own files.
_BACKED_UP_STATE = ("status.json", "progress.json")
_BACKED_UP_LOGS = ("logs", *(f"logs.{n}.gz" for n in range(1, LOG_GENERATIONS + 1)))


def _restore(backup: Path, folder: JobFolder) -> bool:
    """Copy a one_time job's backup into its folder; whether the job ran before (then it must not run).
    The first time, the backup is created holding "started, but not finished", so a job interrupted for
    good keeps that status."""
    existed = backup.is_dir()
    if not existed:
        backup.mkdir(parents=True)
        status = JobStatus.finished(None, "one-time job started, but not finished")
        write_atomic(backup / "status.json", json.dumps(status.to_json()))
    _copy_files(backup, folder.path)
    return existed


def _backup(folder: JobFolder, backup: Path) -> None:
    _copy_files(folder.path, backup)


def _copy_files(source: Path, target: Path) -> None:
    for name in _BACKED_UP_STATE:
        with contextlib.suppress(FileNotFoundError):
            write_atomic(target / name, (source / name).read_bytes())
    for name in _BACKED_UP_LOGS:
        with contextlib.suppress(FileNotFoundError):
            shutil.copyfile(source / name, target / name)


# -- run_sh jobs (spec §2.9) --------------------------------------------------------------------------------


def run_sh(runner: JobRunner) -> JobStatus | None:
    """Run the job's script under its restart policy; its final status, or None when stopped."""
    config = runner.config
    user = config.run_as or runner.access.user
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return JobStatus.finished(None, f"cant run as a '{user}': user not found")
    script = Script(runner, user)
    script.kill_leftover()
    restarts = runner.restarts()
    capacity = config.log_buffer_capacity_mb or DEFAULT_LOG_CAPACITY_MB
    logs = LogFile(runner.folder.logs, capacity * 1_000_000)
    try:
        while not runner.stop.is_set():
            restarts.attempt_started()
            ended = script.run(logs)
            if ended is None:
                return None
            final = restarts.stopped(*ended)
            if final is not None:
                return final
        return None
    finally:
        logs.close()


def script_argv(access: NodeAccess, config: JobConfig) -> list[str]:
    """The argv of a run_sh job's shell."""
    return access.command(["sh", "-c", shell_body(str(config.job_type.data))])


class Script:
    """A run_sh job's shell: started in a process group of its own (its pid recorded in `script.pid`),
    its output logged line by line, stopped with the job's shutdown signal and, after the job's shutdown
    timeout, SIGKILL, sent to the whole group."""

    def __init__(self, runner: JobRunner, user: str | None) -> None:
        self.runner = runner
        self.user = user
        self.argv = script_argv(runner.access, runner.config)
        self.signal = (runner.config.shutdown_signal or PosixSignal.SIGTERM).linux_number()
        self.timeout = runner.config.shutdown_timeout_secs
        if self.timeout is None:
            self.timeout = DEFAULT_SHUTDOWN_TIMEOUT

    def kill_leftover(self) -> None:
        """Stop the shell a previous runner of this job left behind (it was killed before stopping it)."""
        pid = self.runner.folder.read_pid(self.runner.folder.script_pid)
        if pid is not None and process_cmdline(pid) == self.argv:
            log.warning("job '%s': stopping the shell (pid %d) a previous runner left", self.runner.name, pid)
            stop_group(pid, self.signal, self.timeout)
        self.runner.folder.script_pid.unlink(missing_ok=True)

    def run(self, logs: LogFile) -> tuple[int | None, str] | None:
        """Run the shell once: (exit code, message) when it ends by itself, None when the job was stopped."""
        name, access = self.runner.name, self.runner.access
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=access.env,
                cwd=access.host_path(access.cwd),
                user=self.user,
                process_group=0,
            )
        except (OSError, subprocess.SubprocessError) as error:
            return None, f"Failed to spawn job '{name}': {error}"
        write_atomic(self.runner.folder.script_pid, f"{process.pid}\n")
        stamped = bool(self.runner.config.log_timestamp)
        readers = [
            threading.Thread(target=_pump, args=(stream, logs, stamped), daemon=True)
            for stream in (process.stdout, process.stderr)
        ]
        for reader in readers:
            reader.start()
        exited = self._wait(process)
        if not exited:
            stop_group(process.pid, self.signal, self.timeout, process)
        for reader in readers:
            # A background child may hold the pipes open after the shell ended; it is logged meanwhile.
            reader.join(timeout=1)
        self.runner.folder.script_pid.unlink(missing_ok=True)
        if not exited:
            return None
        code = process.returncode
        if code < 0:
            return None, f"Job '{name}' finished with signal: {-code} ({_signal_name(-code)})"
        return code, f"Job '{name}' finished with exit status: {code}"

    def _wait(self, process: subprocess.Popen) -> bool:
        """Wait for the shell to exit (True) or the job to be stopped (False)."""
        try:
            pidfd = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            pidfd = None
        try:
            while process.poll() is None:
                if self.runner.stop.is_set():
                    return False
                fds = [fd for fd in (pidfd, self.runner.wake_fd) if fd is not None]
                # Without a pidfd, or without a wake-up descriptor for `stop`, poll.
                ready, _, _ = select.select(fds, [], [], None if len(fds) == 2 else 0.1)
                if self.runner.wake_fd in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.runner.wake_fd, 512)
            return True
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _pump(stream, logs: LogFile, stamped: bool) -> None:
    with stream:
        for line in iter(lambda: stream.readline(_LINE_LIMIT), b""):
            logs.write(f"{local_time(time.time())}|".encode() + line if stamped else line)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def stop_group(pgid: int, signum: int, timeout: float, leader: subprocess.Popen | None = None) -> None:
    """Send `signum` to process group `pgid`, give its processes `timeout` seconds to end, then SIGKILL
    whatever is left. `leader` (the group leader, when it is our child) is reaped."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)

    def alive() -> bool:
        if leader is not None:
            leader.poll()
        return _group_alive(pgid)

    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    if leader is not None:
        leader.wait()


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` still runs (zombies waiting for a reaper do not count)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def run_job_kind(runner: JobRunner, kind: JobKind) -> JobStatus | None:
    """Attempts of a plugin's job kind (download, upload) under the job's restart policy (spec §2.7's
    archive job runner); its final status, or None when stopped."""
    archive = plugin_manager().hook.archive_api(node_dir=runner.node_dir, node_env=runner.node_env)
    if archive is None:
        return JobStatus.finished(None, f"job '{runner.name}': no archive is configured for this node")
    context = JobContext(
        name=runner.name,
        config=runner.config,
        node_env=runner.node_env,
        access=runner.access,
        job_dir=runner.folder.path,
        archive=archive,
        stop=runner.stop,
        report_progress=runner.folder.write_progress,
    )
    restarts = runner.restarts()
    while not runner.stop.is_set():
        restarts.attempt_started()
        try:
            kind(context)
        except Exception as error:
            ended = (-1, f"job '{runner.name}' failed with: {error_chain(error)}")
        else:
            ended = (0, f"job '{runner.name}' finished")
        final = restarts.stopped(*ended)
        if final is not None:
            return final
    return None


def error_chain(error: BaseException) -> str:
    """An error and its causes, joined with ': ' as the original reports them."""
    messages = []
    while error is not None:
        messages.append(str(error) or type(error).__name__)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return ": ".join(messages)


#: The job kinds the runner runs itself, by `job_type` kind.
BODIES: dict[str, Callable[[JobRunner], JobStatus | None]] = {"run_sh": run_sh}


def job_body(kind: str) -> Callable[[JobRunner], JobStatus | None] | None:
    """How to run a job of `kind`: the runner's own, or a job kind from a plugin."""
    if kind in BODIES:
        return BODIES[kind]
    for kinds in plugin_manager().hook.agent_job_kinds():
        if kind in kinds:
            return functools.partial(run_job_kind, kind=kinds[kind])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description="Run one job of a node.")
    parser.add_argument("--node-dir", type=Path, required=True)
    parser.add_argument("--runtime", required=True)
    parser.add_argument("job")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if os.getsid(0) != os.getpid():
        os.setsid()
    stop = threading.Event()
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    folder = JobFolder(babel_dir(args.node_dir) / "jobs" / args.job)
    try:
        runner = JobRunner(args.node_dir, args.runtime, args.job, stop=stop, wake_fd=wake_read)
        runner.run()
    except Exception as error:
        log.exception("job runner of '%s' failed", args.job)
        with contextlib.suppress(OSError):
            folder.events.log(f"job runner of '{args.job}' failed: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
