"""The jobs manager of the node agent (spec §2): a node's jobs, their states and their runner processes.

Every started job runs in a job runner process of its own (`runner.py`), in its own session, so that
killing the agent, even with SIGKILL, leaves its jobs running. All state lives on disk under the node's
`var/lib/babel/`: `babel.conf`, and per job `jobs/<name>/` with `config.json`, `status.json` (absent while
the job runs), `progress.json`, `logs`, and the agent's own `runner.pid`, `runner.log`, `script.pid` and
`events.jsonl`. A fresh manager over the same folder re-adopts the runners still alive, identified by their
pid file and command line (a reused pid never matches), and reports the same status as before.

JobInfo logs and restart stamps: instead of the original's jobs-monitor socket, the runner and the manager
both append them to the job's `events.jsonl` (JSON lines), which survives agent restarts; at most 1024
messages of at most 1024 characters and 1024 restart stamps are kept, none a day old, newest first (spec
§2.13, without the defects of §9).

A runner that ends without a final status (killed, or crashed before it could write one) is restarted by
the job's policy, but after a manager-side backoff (the job's backoff base, at least 1 s, doubling per
consecutive crash, at most 60 s): unlike the original, a runner that cannot start never loops tightly.
"""

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import attrs

from babel_api.models import JobConfig, JobInfo, JobProgress, JobStatus, NodeEnv, Timestamp
from blockvisor_core.agent.errors import AgentError, FailedPrecondition, InvalidArgument, NotFound
from blockvisor_core.agent.runner import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    JobFolder,
    is_runner,
    local_time,
    process_cmdline,
    process_start_ns,
    runner_argv,
    script_argv,
    stop_group,
    wait_gone,
)
from blockvisor_core.agent.shell import shell_body
from blockvisor_core.files import write_atomic
from blockvisor_core.node_access import NodeAccess, OutsideNodeError
from blockvisor_core.paths import babel_dir

log = logging.getLogger(__name__)

MAX_JOBS = 16
#: Bounds of the manager's backoff for runners that end without a final status (seconds).
CRASH_BACKOFF_MIN = 1.0
CRASH_BACKOFF_MAX = 60.0
#: Seconds a runner gets beyond its job's shutdown timeout to end after SIGTERM (it spends up to that
#: timeout stopping its job), and again after SIGKILL.
RUNNER_STOP_MARGIN = 5.0
#: Longest the manager loop sleeps before it looks at its `stop` event again (seconds).
STOP_POLL = 0.5

NOT_SET_UP = "the agent is not set up yet (setup_babel)"


@attrs.define(eq=False)
class _Job:
    """One job in memory. Active (`pid` set: a runner runs) or inactive with `status` since `status_ns`.

    An inactive `running` job should run but has no runner: its runner ended without a final status and
    it waits for `retry_at` (manager clock), or it was loaded from disk without a live runner.
    `stopping`: a client call or the shutdown is stopping its runner; the manager loop leaves it alone.
    """

    name: str
    config: JobConfig
    folder: JobFolder
    status: JobStatus
    status_ns: int
    pid: int | None = None
    process: subprocess.Popen | None = None
    started_ns: int = 0
    spawned_at: float = 0.0
    stopping: bool = False
    retry_at: float | None = None
    crashes: int = 0


class JobsManager:
    """The jobs of one node: client operations (thread-safe) and the supervising loop (`supervise`)."""

    def __init__(
        self, node_dir: Path, runtime: str, access: NodeAccess, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._node_dir = Path(node_dir).absolute()
        self._runtime = runtime
        self._access = access
        self._clock = clock
        self._conf = babel_dir(self._node_dir) / "babel.conf"
        self._jobs_dir = babel_dir(self._node_dir) / "jobs"
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._node_env: NodeEnv | None = None
        self._shut_down = False
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._jobs_dir.mkdir(parents=True, exist_ok=True)
        node_env = self._saved_node_env()
        if node_env is not None:
            with self._lock:
                self._startup(node_env)

    # -- the agent ------------------------------------------------------------------------------------------

    def setup(self, node_env: NodeEnv) -> None:
        """Save `babel.conf`, load the jobs on disk (re-adopting live runners) and start supervising."""
        try:
            self._access.host_path(node_env.data_mount_point)
        except OutsideNodeError as error:
            raise InvalidArgument(f"data_mount_point: {error}") from None
        with self._lock:
            self._check_running()
            conf = json.dumps({"node_env": node_env.to_json()}, separators=(",", ":"))
            try:
                write_atomic(self._conf, conf)
            except OSError as error:
                raise AgentError(f"failed to save {self._conf}: {error}") from None
            self._startup(node_env)

    def shutdown(self, force: bool) -> None:
        """Stop supervising and refuse further changes. Without `force`, runners keep running for the next
        agent to adopt. With `force` (a node stop), stop every running job as well, in parallel, each
        within its shutdown timeout.

        A stop the operator asked for is not a crash: each job that should run (its runner stopped here,
        or awaiting its restart after a crash) is saved `pending` on its `needs` and `wait_for`, as
        `start()` leaves it, so the next agent starts it as usual, without counting a restart or logging
        that its runner ended unexpectedly (which it does for a running job without a status file). A
        runner that reached a final status just before the stop keeps it."""
        with self._lock:
            self._shut_down = True
            halting = [job for job in self._jobs.values() if job.pid is not None and not job.stopping]
            for job in halting if force else []:
                job.stopping = True
            # Crashed jobs whose restart the manager scheduled (their crash is counted already).
            retrying = [
                job
                for job in self._jobs.values()
                if job.pid is None and not job.stopping and job.retry_at is not None
            ]
        self._wake()
        if not force:
            return
        errors: list[str] = []

        def to_run_again(job: _Job) -> None:
            """Under the lock: save the stopped job as pending, for the next agent to start it."""
            try:
                self._set_status(job, JobStatus.pending(job.config.waiting_for()))
            except AgentError as error:
                errors.append(str(error))

        def halt(job: _Job) -> None:
            try:
                self._stop_runner(job)
            except AgentError as error:
                errors.append(str(error))
            with self._lock:
                job.stopping = False
                if job.pid is not None:
                    return
                try:
                    final = job.folder.read_status()
                except (OSError, ValueError):
                    final = None
                if final is not None and final.kind in ("finished", "stopped"):
                    with contextlib.suppress(OSError):
                        job.status, job.status_ns = final, job.folder.status.stat().st_mtime_ns
                else:
                    to_run_again(job)

        with self._lock:
            for job in retrying:
                to_run_again(job)

        threads = [threading.Thread(target=halt, args=(job,), name=f"stop {job.name}") for job in halting]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise AgentError("; ".join(errors))

    def protocol_data_stamp(self) -> float | None:
        """When the protocol data were last marked initialised (mtime of `.protocol_data.lock` in the data
        mount point, seconds since the epoch); None when never."""
        with self._lock:
            node_env = self._ready()
        lock = self._access.host_path(PurePosixPath(node_env.data_mount_point) / ".protocol_data.lock")
        try:
            return lock.stat().st_mtime
        except FileNotFoundError:
            return None

    # -- jobs -----------------------------------------------------------------------------------------------

    def create(self, name: str, config: JobConfig) -> None:
        """Create job `name`, or replace it (its runner stopped first): status `stopped`, logs cleared."""
        _check_name(name)
        _check_config(name, config)
        with self._lock:
            self._check_open()
            if name not in self._jobs:
                if len(self._jobs) >= MAX_JOBS:
                    raise FailedPrecondition(f"Exceeded max number of supported jobs: {MAX_JOBS}")
                self._install(name, config)
                return
        with self._halted(name, f"job '{name}' not found"):
            self._install(name, config)

    def start(self, name: str) -> None:
        """An inactive job becomes pending on its `needs` and `wait_for`; an active one runs on."""
        with self._lock:
            self._check_open()
            job = self._job(name, f"can't start, job '{name}' not found")
            if job.pid is not None:
                return
            if job.stopping:
                raise FailedPrecondition(f"can't start job '{name}' while it is being stopped")
            self._set_status(job, JobStatus.pending(job.config.waiting_for()))
        self._wake()

    def stop(self, name: str) -> None:
        """Stop the job's runner if it runs (the job's shutdown signal and timeout); status `stopped`."""
        with self._halted(name, f"job '{name}' not found") as job:
            self._set_status(job, JobStatus.stopped())

    def skip(self, name: str) -> None:
        """Stop the job's runner if it runs; status `finished{0, "Skipped"}`, as if it had succeeded."""
        with self._halted(name, f"job '{name}' not found") as job:
            self._set_status(job, JobStatus.finished(0, "Skipped"))

    def stop_all(self) -> None:
        """Stop every job, one after the other; the first failure ends the call."""
        with self._lock:
            self._check_open()
            names = list(self._jobs)
        for name in names:
            self.stop(name)

    def cleanup(self, name: str) -> None:
        """Remove what an inactive job left behind for its next run (run_sh jobs leave nothing)."""
        with self._lock:
            self._check_open()
            job = self._job(name, f"job '{name}' not found")
            if job.pid is not None or job.stopping:
                raise FailedPrecondition("can't cleanup active job")
            kind = job.config.job_type.kind
            if kind != "run_sh":
                raise FailedPrecondition(f"job '{name}': no installed plugin cleans up '{kind}' jobs")

    def info(self, name: str) -> JobInfo:
        with self._lock:
            self._ready()
            return self._info(self._job(name, f"job '{name}' not found"))

    def jobs(self) -> dict[str, JobInfo]:
        with self._lock:
            self._ready()
            return {name: self._info(job) for name, job in self._jobs.items()}

    def job_shutdown_timeout(self, name: str) -> float:
        """Seconds the job may take to stop if it runs; 0 for an inactive or unknown job."""
        with self._lock:
            job = self._jobs.get(name)
            return _shutdown_timeout(job.config) if job is not None and job.pid is not None else 0.0

    def active_jobs_shutdown_timeout(self) -> float:
        """Sum of the shutdown timeouts of the running jobs."""
        with self._lock:
            return sum(_shutdown_timeout(job.config) for job in self._jobs.values() if job.pid is not None)

    # -- supervision ----------------------------------------------------------------------------------------

    def supervise(self, stop: threading.Event) -> None:
        """The manager loop (spec §2.5), until `stop` is set or the agent shuts down: notice runners that
        ended, start pending jobs whose dependencies are met, restart crashed ones when their backoff is
        over. Sleeps on pidfds of the runners (polls where the kernel has none) and wakes on client calls."""
        while not stop.is_set():
            pids: list[int] = []
            timeout = STOP_POLL
            with self._lock:
                if self._shut_down:
                    return
                if self._node_env is not None:
                    self._reap()
                    self._schedule()
                    idle = [job for job in self._jobs.values() if job.pid is None and not job.stopping]
                    pids = [
                        job.pid for job in self._jobs.values() if job.pid is not None and not job.stopping
                    ]
                    due = [job.retry_at for job in idle if job.retry_at is not None]
                    if due:
                        timeout = min(timeout, max(0.0, min(due) - self._clock()))
            self._sleep(pids, timeout)

    def _sleep(self, pids: list[int], timeout: float) -> None:
        pidfds = []
        try:
            for pid in pids:
                try:
                    pidfds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    return
                except (AttributeError, OSError):
                    # No pidfd: this runner's end is noticed at the next poll, within STOP_POLL.
                    continue
            ready, _, _ = select.select([self._wake_read, *pidfds], [], [], timeout)
            if self._wake_read in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_read, 512):
                        pass
        finally:
            for pidfd in pidfds:
                os.close(pidfd)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"\0")

    def _reap(self) -> None:
        """Handle every runner that ended by itself."""
        for job in self._jobs.values():
            if job.pid is None or job.stopping:
                continue
            gone = job.process.poll() is not None if job.process else not self._is_runner(job.name, job.pid)
            if gone:
                job.pid = job.process = None
                job.folder.runner_pid.unlink(missing_ok=True)
                self._runner_ended(job, self._clock() - job.spawned_at)

    def _runner_ended(self, job: _Job, ran_for: float) -> None:
        """A job should run but its runner is gone: take the status it left, or restart it by policy."""
        try:
            status = job.folder.read_status()
            status_ns = job.folder.status.stat().st_mtime_ns
        except (OSError, ValueError) as error:
            message = (
                f"can't load job '{job.name}' status from file after it stopped, with: "
                f"{_status_error(job.folder.status, error)}"
            )
            self._log(job, message)
            if job.config.restart.kind == "never":
                self._settle(job, JobStatus.finished(None, message))
            else:
                self._crashed(job, ran_for)
            return
        if status.kind in ("finished", "stopped"):
            job.status, job.status_ns, job.crashes = status, status_ns, 0
        else:
            self._crashed(job, ran_for)

    def _crashed(self, job: _Job, ran_for: float) -> None:
        """Schedule the restart of a job whose runner ended without a final status, after a backoff."""
        try:
            job.folder.events.restart(self._clock())
        except OSError as error:
            log.error("job '%s': can't record a restart: %s", job.name, error)
        self._log(job, "babel_job_runner process ended unexpectedly")
        config = job.config.restart.config
        if config is not None and ran_for * 1000 > config.backoff_timeout_ms:
            job.crashes = 0
        base = max(CRASH_BACKOFF_MIN, config.backoff_base_ms / 1000 if config else 0.0)
        delay = min(CRASH_BACKOFF_MAX, base * 2 ** min(job.crashes, 16))
        job.crashes += 1
        job.status, job.status_ns = JobStatus.running(), self._now_ns()
        job.retry_at = self._clock() + delay

    def _schedule(self) -> None:
        for job in list(self._jobs.values()):
            if job.pid is not None or job.stopping:
                continue
            if job.status.kind == "pending":
                verdict = self._dependencies(job)
                if verdict is True:
                    self._spawn(job)
                elif isinstance(verdict, str):
                    self._log(job, verdict)
                    self._settle(job, JobStatus.finished(None, verdict))
            elif job.status.kind == "running":
                if job.retry_at is None:
                    self._runner_ended(job, 0.0)
                elif job.retry_at <= self._clock():
                    self._spawn(job)

    def _dependencies(self, job: _Job) -> bool | str:
        """Spec §2.6: True when the job may start, False while it waits, or why it never can."""
        ready = True
        for needed in job.config.needs or []:
            other = self._jobs.get(needed)
            if other is None:
                return f"job '{job.name}' needs '{needed}', but it is not defined"
            if other.pid is None and not other.stopping and other.status.kind in ("finished", "stopped"):
                if other.status.kind == "stopped":
                    return f"job '{job.name}' needs '{needed}', but it was stopped"
                code, message = other.status.data.exit_code, other.status.data.message
                if code != 0:
                    rendered = "None" if code is None else f"Some({code})"
                    return f"job '{job.name}' needs '{needed}', but it failed with {rendered} - {message}"
            else:
                ready = False
        for awaited in job.config.wait_for or []:
            other = self._jobs.get(awaited)
            if other is None:
                return f"job '{job.name}' waits for '{awaited}', but it is not defined"
            if other.pid is not None or other.stopping or other.status.kind not in ("finished", "stopped"):
                ready = False
        return ready

    def _spawn(self, job: _Job) -> None:
        """Start the job's runner: its status file goes (a running job has none), its pid is recorded."""
        job.retry_at = None
        try:
            job.folder.status.unlink(missing_ok=True)
        except OSError as error:
            self._log(job, f"can't clear the status of job '{job.name}' to start it: {_os_error(error)}")
            job.status, job.retry_at = JobStatus.running(), self._clock() + CRASH_BACKOFF_MIN
            return
        try:
            with job.folder.runner_log.open("wb") as output:
                process = subprocess.Popen(
                    self._runner_argv(job.name),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd="/",
                    start_new_session=True,
                )
        except OSError as error:
            message = f"failed to start job '{job.name}': {_os_error(error)}"
            self._log(job, message)
            self._settle(job, JobStatus.finished(None, message))
            return
        job.pid, job.process = process.pid, process
        job.started_ns = process_start_ns(process.pid) or self._now_ns()
        job.spawned_at = self._clock()
        job.status = JobStatus.running()
        self._save_pid(job, process.pid)

    def _save_pid(self, job: _Job, pid: int) -> None:
        try:
            write_atomic(job.folder.runner_pid, f"{pid}\n")
        except OSError as error:
            # A later agent still finds the runner by its command line.
            log.error("job '%s': can't save the runner's pid: %s", job.name, error)

    # -- stopping runners -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _halted(self, name: str, missing: str) -> Iterator[_Job]:
        """Stop the job's runner if it runs, then yield the job under the lock (for its new status)."""
        with self._lock:
            self._check_open()
            job = self._job(name, missing)
            if job.stopping:
                raise FailedPrecondition(f"job '{name}' is already being stopped")
            job.stopping = True
        try:
            self._stop_runner(job)
            with self._lock:
                job.retry_at = None
                yield job
        finally:
            with self._lock:
                job.stopping = False
            self._wake()

    def _stop_runner(self, job: _Job) -> None:
        """Terminate the job's runner, if any, without holding the lock: SIGTERM, the job's shutdown timeout
        plus a margin, then SIGKILL for the runner and its script's process group."""
        pid, process = job.pid, job.process
        if pid is None:
            return

        def alive() -> bool:
            return process.poll() is None if process else self._is_runner(job.name, pid)

        if alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, alive, _shutdown_timeout(job.config) + RUNNER_STOP_MARGIN):
            log.warning("job '%s': runner (pid %d) ignored SIGTERM; killing it", job.name, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._kill_script(job)
            if not wait_gone(pid, alive, RUNNER_STOP_MARGIN):
                raise AgentError(
                    f"Failed to terminate job_runner for '{job.name}' job (pid {pid}), timeout expired!"
                )
        with self._lock:
            job.pid = job.process = None
            job.folder.runner_pid.unlink(missing_ok=True)

    def _kill_script(self, job: _Job) -> None:
        """Kill the process group of a run_sh job's shell, which outlives a runner killed with SIGKILL."""
        pid = job.folder.read_pid(job.folder.script_pid)
        if job.config.job_type.kind != "run_sh" or pid is None:
            return
        if process_cmdline(pid) == script_argv(self._access, job.config):
            stop_group(pid, signal.SIGKILL, RUNNER_STOP_MARGIN)

    # -- state ----------------------------------------------------------------------------------------------

    def _startup(self, node_env: NodeEnv) -> None:
        self._node_env = node_env
        self._load_jobs()
        self._wake()

    def _saved_node_env(self) -> NodeEnv | None:
        try:
            conf = json.loads(self._conf.read_text())
            return NodeEnv.from_json(conf.get("node_env") if isinstance(conf, dict) else conf)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("%s can't be used, waiting for setup: %s", self._conf, error)
            return None

    def _load_jobs(self) -> None:
        """Spec §2.12: add the jobs on disk that are not known yet; a live runner makes its job active."""
        try:
            folders = sorted(path for path in self._jobs_dir.iterdir() if path.is_dir())
        except OSError as error:
            raise AgentError(f"failed to read jobs folder {self._jobs_dir}: {error}") from None
        runners: dict[str, int] | None = None
        for path in folders:
            name, folder = path.name, JobFolder(path)
            if name in self._jobs or _name_problem(name) or not folder.config.exists():
                continue
            try:
                config = folder.read_config()
            except (OSError, ValueError) as error:
                log.error("invalid job '%s' config file in %s, load failed with: %s", name, path, error)
                folder.config.unlink(missing_ok=True)
                continue
            job = _Job(name, config, folder, JobStatus.running(), self._now_ns())
            pid = folder.read_pid(folder.runner_pid)
            if pid is None or not self._is_runner(name, pid):
                if runners is None:
                    runners = self._find_runners()
                pid = runners.get(name)
                if pid is not None:
                    self._save_pid(job, pid)
            if pid is not None:
                job.pid, job.spawned_at = pid, self._clock()
                job.started_ns = process_start_ns(pid) or self._now_ns()
            else:
                with contextlib.suppress(OSError, ValueError):
                    job.status = folder.read_status()
                    job.status_ns = folder.status.stat().st_mtime_ns
            self._jobs[name] = job

    def _find_runners(self) -> dict[str, int]:
        """The live runners of this node's jobs, by job name, from their command lines."""
        prefix = self._runner_argv("")[1:-1]
        found = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                cmdline = process_cmdline(int(entry.name))
                if cmdline and cmdline[1:-1] == prefix:
                    found[cmdline[-1]] = int(entry.name)
        return found

    def _install(self, name: str, config: JobConfig) -> None:
        """Write a new job's folder (status `stopped`, config, no events) and register it."""
        folder = JobFolder(self._jobs_dir / name)
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
            folder.write_status(JobStatus.stopped())
            write_atomic(folder.config, json.dumps(config.to_json()))
            folder.events.clear()
            status_ns = folder.status.stat().st_mtime_ns
        except OSError as error:
            raise AgentError(f"failed to create job '{name}': {error}") from None
        self._jobs[name] = _Job(name, config, folder, JobStatus.stopped(), status_ns)

    def _set_status(self, job: _Job, status: JobStatus) -> None:
        """Give an inactive job a new status and save it (its mtime becomes the status time)."""
        job.status, job.retry_at = status, None
        try:
            job.folder.write_status(status)
            job.status_ns = job.folder.status.stat().st_mtime_ns
        except OSError as error:
            job.status_ns = self._now_ns()
            raise AgentError(f"failed to save the status of job '{job.name}': {error}") from None

    def _settle(self, job: _Job, status: JobStatus) -> None:
        """`_set_status` from the manager loop, where a failure to save can only be logged."""
        try:
            self._set_status(job, status)
        except AgentError as error:
            self._log(job, str(error))

    def _info(self, job: _Job) -> JobInfo:
        try:
            logs, restarts = job.folder.events.read(self._clock())
        except OSError as error:
            raise AgentError(f"can't read the events of job '{job.name}': {error}") from None
        if job.pid is not None:
            status, stamp = JobStatus.running(), job.started_ns
        else:
            status, stamp = job.status, job.status_ns
        try:
            progress = JobProgress.from_json(json.loads(job.folder.progress.read_text()))
        except (OSError, ValueError):
            progress = None
        policy = job.config.restart
        return JobInfo(
            status=status,
            timestamp=Timestamp.from_nanos(stamp),
            progress=progress,
            restart_count=len(set(restarts)),
            logs=[f"{local_time(at)}| {message}" for at, message in logs],
            upgrade_blocking=policy.kind == "never"
            or (policy.kind == "on_failure" and policy.config.max_retries is not None),
        )

    def _log(self, job: _Job, message: str) -> None:
        log.warning("job '%s': %s", job.name, message)
        try:
            job.folder.events.log(message, self._clock())
        except OSError as error:
            log.error("job '%s': can't record an event: %s", job.name, error)

    def _job(self, name: str, missing: str) -> _Job:
        job = self._jobs.get(name)
        if job is None:
            raise NotFound(missing)
        return job

    def _ready(self) -> NodeEnv:
        if self._node_env is None:
            raise FailedPrecondition(NOT_SET_UP)
        return self._node_env

    def _check_open(self) -> None:
        """Changes need a set-up agent that is not shutting down."""
        self._check_running()
        self._ready()

    def _check_running(self) -> None:
        if self._shut_down:
            raise FailedPrecondition("the agent is shutting down")

    def _runner_argv(self, name: str) -> list[str]:
        return runner_argv(self._node_dir, self._runtime, name)

    def _is_runner(self, name: str, pid: int) -> bool:
        return is_runner(pid, self._runner_argv(name))

    def _now_ns(self) -> int:
        return int(self._clock() * 1e9)


def _shutdown_timeout(config: JobConfig) -> float:
    timeout = config.shutdown_timeout_secs
    return float(DEFAULT_SHUTDOWN_TIMEOUT if timeout is None else timeout)


def _name_problem(name: str) -> str | None:
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        return "a job name must be one non-empty file name: no '/', no NUL, not '.' or '..'"
    return None


def _check_name(name: str) -> None:
    if (problem := _name_problem(name)) is not None:
        raise InvalidArgument(f"invalid job name {name!r}: {problem}")


def _check_config(name: str, config: JobConfig) -> None:
    """Refuse what the data model lets through but could never run, before anything is written."""
    problems = []
    for field in ("needs", "wait_for"):
        for other in getattr(config, field) or []:
            if (problem := _name_problem(other)) is not None:
                problems.append(f"{field}: invalid job name {other!r}: {problem}")
            elif other == name:
                problems.append(f"{field}: a job can't wait for itself")
    if config.job_type.kind == "run_sh" and not shell_body(str(config.job_type.data)):
        problems.append("job_type.run_sh: the script is empty")
    if config.log_buffer_capacity_mb == 0:
        problems.append("log_buffer_capacity_mb: must be at least 1")
    if problems:
        raise InvalidArgument(f"invalid config of job '{name}': " + "; ".join(problems))


def _os_error(error: OSError) -> str:
    """An OS error as the original agent wrote it: `<description> (os error <n>)`."""
    return f"{error.strerror} (os error {error.errno})" if error.errno else str(error)


def _status_error(path: Path, error: Exception) -> str:
    if isinstance(error, OSError):
        return f"Failed to read job status file `{path}`: {_os_error(error)}"
    return f"Failed to parse job status file `{path}`: {error}"
