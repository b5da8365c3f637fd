"""The jobs manager with real job runner processes (spec §7.3 and the missing coverage of §7.10)."""

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from babel_api.models import (
    JobConfig,
    JobStatus,
    JobType,
    NodeEnv,
    PosixSignal,
    RestartConfig,
    RestartPolicy,
)
from blockvisor_core.agent.errors import FailedPrecondition, InvalidArgument, NotFound
from blockvisor_core.agent.jobs import NOT_SET_UP, JobsManager
from blockvisor_core.agent.runner import process_cmdline
from blockvisor_core.plugins import plugin_manager

NEVER = RestartPolicy.never()
ALWAYS = RestartPolicy.always(RestartConfig(backoff_timeout_ms=0, backoff_base_ms=0))


def sh(body: str, restart: RestartPolicy = NEVER, **options) -> JobConfig:
    options.setdefault("shutdown_timeout_secs", 2)
    return JobConfig(job_type=JobType.run_sh(body), restart=restart, **options)


@contextlib.contextmanager
def refused(kind: type[Exception], message: str):
    """The block raises `kind` with exactly `message`."""
    with pytest.raises(kind) as error:
        yield
    assert str(error.value) == message


def wait_until(condition, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not met within {timeout} s")
        time.sleep(0.02)


def finished(manager: JobsManager, name: str) -> bool:
    return manager.info(name).status.kind == "finished"


def gone(pid: int) -> bool:
    cmdline = process_cmdline(pid)
    return not cmdline


class Node:
    """A node folder with the process runtime, and the managers (each supervising in a thread) over it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "node"
        self.dir.mkdir()
        self.access = plugin_manager().hook.runtime_node_access(runtime="process", node_dir=self.dir)
        self.env = NodeEnv(node_id="node-1", data_mount_point=str(self.dir / "blockjoy"))
        self.data = self.dir / "blockjoy"
        self.jobs_dir = self.dir / "var/lib/babel/jobs"
        self.supervisors: list[tuple[JobsManager, threading.Event, threading.Thread]] = []

    def manager(self, *, setup: bool = True, supervise: bool = True, **options) -> JobsManager:
        manager = JobsManager(self.dir, "process", self.access, **options)
        if setup:
            manager.setup(self.env)
        stop = threading.Event()
        thread = threading.Thread(target=manager.supervise, args=(stop,), daemon=True)
        if supervise:
            thread.start()
        self.supervisors.append((manager, stop, thread))
        return manager

    def discard(self, manager: JobsManager) -> None:
        """What a killed agent leaves: the manager stops supervising, its runners run on."""
        for candidate, stop, thread in self.supervisors:
            if candidate is manager:
                manager.shutdown(force=False)
                stop.set()
                if thread.is_alive():
                    thread.join()

    def status(self, manager: JobsManager, name: str):
        return manager.info(name).status.to_json()

    def saved_status(self, name: str):
        return json.loads((self.jobs_dir / name / "status.json").read_text())

    def runner_pid(self, name: str) -> int | None:
        try:
            return int((self.jobs_dir / name / "runner.pid").read_text())
        except FileNotFoundError:
            return None

    def close(self) -> None:
        for manager, stop, thread in self.supervisors:
            with contextlib.suppress(Exception):
                manager.shutdown(force=True)
            stop.set()
            if thread.is_alive():
                thread.join()
        # Whatever a test left behind (its scripts mention the test folder): kill its process group.
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and str(self.root) in " ".join(process_cmdline(int(entry.name)) or []):
                with contextlib.suppress(OSError):
                    pgid = os.getpgid(int(entry.name))
                    if pgid != os.getpgid(0):
                        os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def node(tmp_path):
    node = Node(tmp_path)
    yield node
    node.close()


def test_max_jobs(node):
    manager = node.manager(supervise=False)
    for n in range(16):
        manager.create(f"job_{n}", sh("true"))
    with refused(FailedPrecondition, "Exceeded max number of supported jobs: 16"):
        manager.create("job_16", sh("true"))
    manager.create("job_15", sh("false"))
    assert not (node.jobs_dir / "job_16").exists()
    with refused(NotFound, "job 'unknown' not found"):
        manager.info("unknown")
    with refused(NotFound, "can't start, job 'unknown' not found"):
        manager.start("unknown")


def test_calls_before_setup_are_refused(node):
    manager = node.manager(setup=False)
    for call in (lambda: manager.create("a", sh("true")), lambda: manager.info("a"), manager.jobs):
        with refused(FailedPrecondition, NOT_SET_UP):
            call()
    assert manager.active_jobs_shutdown_timeout() == 0
    manager.setup(node.env)
    manager.create("a", sh("true"))
    assert json.loads((node.dir / "var/lib/babel/babel.conf").read_text()) == {"node_env": node.env.to_json()}


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../a", "a\0b"])
def test_unsafe_job_names_are_refused(node, name):
    manager = node.manager(supervise=False)
    with pytest.raises(InvalidArgument, match=r"^invalid job name "):
        manager.create(name, sh("true"))
    assert list(node.jobs_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            sh("true", needs=["../etc"]),
            "needs: invalid job name '../etc': a job name must be one non-empty file name: no '/', no NUL, "
            "not '.' or '..'",
        ),
        (sh("true", wait_for=["job"]), "wait_for: a job can't wait for itself"),
        (sh("  && "), "job_type.run_sh: the script is empty"),
        (sh("true", log_buffer_capacity_mb=0), "log_buffer_capacity_mb: must be at least 1"),
    ],
)
def test_a_bad_config_is_refused_and_creates_nothing(node, config, problem):
    manager = node.manager(supervise=False)
    with refused(InvalidArgument, f"invalid config of job 'job': {problem}"):
        manager.create("job", config)
    assert list(node.jobs_dir.iterdir()) == []
    assert manager.jobs() == {}


def test_create_and_start(node):
    manager = node.manager(supervise=False)
    (node.jobs_dir / "job").mkdir()
    (node.jobs_dir / "job/status.json").write_text('{"finished": {"exit_code": 1, "message": "stray"}}')
    config = sh("sleep 1")
    manager.create("job", config)
    assert node.status(manager, "job") == "stopped"
    assert node.saved_status("job") == "stopped"
    manager.start("job")
    assert node.saved_status("job") == {"pending": {"waiting_for": []}}
    assert json.loads((node.jobs_dir / "job/config.json").read_text()) == config.to_json()
    info = manager.info("job").to_json()
    del info["timestamp"]
    assert info == {
        "status": {"pending": {"waiting_for": []}},
        "progress": None,
        "restart_count": 0,
        "logs": [],
        "upgrade_blocking": True,
    }


def test_stop(node):
    manager = node.manager()
    with refused(NotFound, "job 'unknown' not found"):
        manager.stop("unknown")
    manager.create("pending", sh("true", needs=["never_started"], wait_for=[]))
    manager.create("never_started", sh("true"))
    manager.start("pending")
    manager.stop("pending")
    assert node.status(manager, "pending") == "stopped" == node.saved_status("pending")
    manager.create("running", sh(f"sleep 30 # {node.root}"))
    manager.start("running")
    wait_until(lambda: (node.jobs_dir / "running/script.pid").exists(), what="script started")
    runner, script = node.runner_pid("running"), int((node.jobs_dir / "running/script.pid").read_text())
    assert manager.job_shutdown_timeout("running") == 2
    manager.stop("running")
    assert node.status(manager, "running") == "stopped" == node.saved_status("running")
    assert gone(runner) and gone(script)
    assert manager.job_shutdown_timeout("running") == 0


def test_dependency_errors(node):
    manager = node.manager()
    manager.create("failed_job", sh("exit 1"))
    manager.create("stopped_job", sh("true"))
    manager.start("failed_job")
    wait_until(lambda: finished(manager, "failed_job"))
    jobs = {
        "undefined_need": sh("true", needs=["invalid_dependency"]),
        "undefined_wait": sh("true", wait_for=["invalid_dependency"]),
        "failed_need": sh("true", needs=["failed_job"]),
        "stopped_need": sh("true", needs=["stopped_job"]),
        "stopped_wait": sh("true", wait_for=["stopped_job", "failed_job"]),
    }
    for name, config in jobs.items():
        manager.create(name, config)
        manager.start(name)
    wait_until(lambda: all(finished(manager, name) for name in jobs), what="jobs finished")
    failed = "Job 'failed_job' finished with exit status: 1"
    expected = {
        "undefined_need": "job 'undefined_need' needs 'invalid_dependency', but it is not defined",
        "undefined_wait": "job 'undefined_wait' waits for 'invalid_dependency', but it is not defined",
        "failed_need": f"job 'failed_need' needs 'failed_job', but it failed with Some(1) - {failed}",
        "stopped_need": "job 'stopped_need' needs 'stopped_job', but it was stopped",
    }
    for name, message in expected.items():
        assert node.status(manager, name) == {"finished": {"exit_code": None, "message": message}}
        assert node.saved_status(name) == node.status(manager, name)
        assert manager.info(name).logs[0].endswith(f"| {message}")
    assert node.status(manager, "stopped_wait") == {"finished": {"exit_code": 0, "message": ""}}


def test_needs_and_wait_for_order_the_jobs(node):
    manager = node.manager()
    out = node.root

    def stamp(name: str) -> str:
        return f"date +%s.%N > {out}/{name}"

    manager.create("a", sh(f"{stamp('a.start')}; sleep 0.4; {stamp('a.end')}"))
    manager.create("b", sh(f"sleep 0.2; {stamp('b.end')}; exit 3"))
    manager.create("c", sh(stamp("c.start"), needs=["a"], wait_for=["b"]))
    for name in ("a", "b", "c"):
        manager.start(name)
    time.sleep(0.1)
    assert node.status(manager, "c") == {"pending": {"waiting_for": ["a", "b"]}}
    wait_until(lambda: finished(manager, "c"))
    assert node.status(manager, "c") == {"finished": {"exit_code": 0, "message": ""}}
    times = {name: float((out / name).read_text()) for name in ("a.start", "a.end", "b.end", "c.start")}
    assert times["c.start"] > times["a.end"] > times["a.start"]
    assert times["c.start"] > times["b.end"]


def test_a_new_manager_adopts_live_runners_and_loads_saved_states(node):
    first = node.manager()
    first.create("active_job", sh(f"sleep 30 # {node.root}"))
    first.create("short_job", sh(f"sleep 1.5 # {node.root}"))
    first.create("found_by_cmdline", sh(f"sleep 30 # {node.root}"))
    for name in ("active_job", "short_job", "found_by_cmdline"):
        first.start(name)
    wait_until(lambda: all(node.status(first, name) == "running" for name in first.jobs()))
    wait_until(lambda: (node.jobs_dir / "found_by_cmdline/runner.pid").exists())
    pids = {name: node.runner_pid(name) for name in ("active_job", "short_job", "found_by_cmdline")}
    before = first.jobs()
    node.discard(first)
    (node.jobs_dir / "found_by_cmdline/runner.pid").unlink()
    for name, status in [
        ("pending_job", {"pending": {"waiting_for": []}}),
        ("finished_job", {"finished": {"exit_code": 1, "message": "job message"}}),
        ("crashed_job", None),
        ("invalid", None),
    ]:
        (node.jobs_dir / name).mkdir()
        config = sh("true") if name != "invalid" else None
        (node.jobs_dir / name / "config.json").write_text(
            json.dumps(config.to_json()) if config else "garbage"
        )
        if status is not None:
            (node.jobs_dir / name / "status.json").write_text(json.dumps(status))

    second = node.manager(supervise=False)  # set up again from babel.conf, then by setup()
    assert set(second.jobs()) == {*pids, "pending_job", "finished_job", "crashed_job"}
    for name in pids:
        assert second.jobs()[name] == before[name]
    assert node.status(second, "pending_job") == {"pending": {"waiting_for": []}}
    assert node.status(second, "finished_job") == {"finished": {"exit_code": 1, "message": "job message"}}
    assert node.status(second, "crashed_job") == "running"
    assert not (node.jobs_dir / "invalid/config.json").exists()
    assert all(process_cmdline(pid) for pid in pids.values())

    third = node.manager()  # the same state once more, and now supervising
    assert third.jobs()["active_job"] == before["active_job"]
    wait_until(lambda: finished(third, "short_job"), what="the adopted short job ended")
    assert node.status(third, "short_job") == {"finished": {"exit_code": 0, "message": ""}}
    assert node.status(third, "crashed_job") == {
        "finished": {
            "exit_code": None,
            "message": "can't load job 'crashed_job' status from file after it stopped, with: Failed to "
            f"read job status file `{node.jobs_dir}/crashed_job/status.json`: No such file or directory "
            "(os error 2)",
        }
    }
    third.stop("active_job")
    assert gone(pids["active_job"])
    assert node.status(third, "active_job") == "stopped"
    assert node.runner_pid("found_by_cmdline") == pids["found_by_cmdline"]


def test_a_runner_killed_under_policy_never_finishes_the_job(node):
    manager = node.manager()
    manager.create("test_job", sh(f"sleep 30 # {node.root}"))
    manager.start("test_job")
    wait_until(lambda: (node.jobs_dir / "test_job/runner.pid").exists())
    os.kill(node.runner_pid("test_job"), signal.SIGKILL)
    wait_until(lambda: finished(manager, "test_job"), what="the kill noticed")
    message = (
        "can't load job 'test_job' status from file after it stopped, with: Failed to read job status file "
        f"`{node.jobs_dir}/test_job/status.json`: No such file or directory (os error 2)"
    )
    assert node.status(manager, "test_job") == {"finished": {"exit_code": None, "message": message}}
    info = manager.info("test_job")
    assert info.restart_count == 0
    assert info.logs[0].endswith(f"| {message}")


def test_a_runner_killed_under_policy_always_is_restarted_after_a_backoff(node):
    manager = node.manager()
    manager.create("test_job", sh(f"sleep 30 # {node.root}", restart=ALWAYS))
    manager.start("test_job")
    script_pid = node.jobs_dir / "test_job/script.pid"
    wait_until(script_pid.exists, what="script started")
    info = manager.info("test_job")
    assert (info.status, info.restart_count, info.upgrade_blocking) == (JobStatus.running(), 0, False)
    runner, script = node.runner_pid("test_job"), int(script_pid.read_text())
    os.kill(runner, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: node.runner_pid("test_job") not in (runner, None), what="a new runner")
    assert time.monotonic() - killed >= 0.9
    info = manager.info("test_job")
    assert (info.status, info.restart_count) == (JobStatus.running(), 1)
    assert [entry.split("| ", 1)[1] for entry in info.logs] == [
        "babel_job_runner process ended unexpectedly",
        "can't load job 'test_job' status from file after it stopped, with: Failed to read job status file "
        f"`{node.jobs_dir}/test_job/status.json`: No such file or directory (os error 2)",
    ]
    # The new runner stops the script its killed predecessor left.
    wait_until(lambda: gone(script), what="the orphaned script stopped")


def test_a_runner_that_cannot_start_is_not_restarted_in_a_tight_loop(node):
    manager = node.manager()
    manager.create("job", sh("true", restart=ALWAYS))
    (node.dir / "var/lib/babel/babel.conf").write_text("{corrupt")
    manager.start("job")
    time.sleep(3)
    info = manager.info("job")
    assert 1 <= info.restart_count <= 3
    assert any("job runner of 'job' failed: Expecting property name" in entry for entry in info.logs)


def test_one_time_job_never_runs_again_even_after_an_upgrade(node):
    manager = node.manager()
    count = node.root / "runs"
    manager.create("init", sh(f"echo run >> {count}; echo done", one_time=True))
    manager.start("init")
    wait_until(lambda: finished(manager, "init"))
    assert node.status(manager, "init") == {"finished": {"exit_code": 0, "message": ""}}
    assert (node.data / ".babel_jobs/init/status.json").exists()
    manager.start("init")
    wait_until(lambda: finished(manager, "init"))
    assert count.read_text() == "run\n"

    # An upgrade: a new node image (no job folders) over the same data volume, a new agent.
    node.discard(manager)
    for path in sorted(node.jobs_dir.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    upgraded = node.manager()
    upgraded.create("init", sh(f"echo run >> {count}", one_time=True))
    upgraded.start("init")
    wait_until(lambda: finished(upgraded, "init"))
    assert node.status(upgraded, "init") == {"finished": {"exit_code": 0, "message": ""}}
    assert (node.jobs_dir / "init/logs").read_text() == "done\n"
    assert count.read_text() == "run\n"


def test_an_interrupted_one_time_job_stays_unfinished(node):
    manager = node.manager()
    manager.create("init", sh(f"sleep 30 # {node.root}", one_time=True))
    manager.start("init")
    wait_until(lambda: (node.jobs_dir / "init/script.pid").exists())
    os.kill(node.runner_pid("init"), signal.SIGKILL)
    wait_until(lambda: finished(manager, "init"))
    assert node.status(manager, "init") == {
        "finished": {"exit_code": None, "message": "one-time job started, but not finished"}
    }


def test_use_protocol_data_touches_the_lock(node):
    manager = node.manager()
    assert manager.protocol_data_stamp() is None
    manager.create("init", sh("true", use_protocol_data=True))
    before = time.time()
    manager.start("init")
    wait_until(lambda: manager.protocol_data_stamp() is not None)
    assert manager.protocol_data_stamp() >= before - 0.01
    assert (node.data / ".protocol_data.lock").is_file()


def test_the_shutdown_signal_is_sent_to_the_script(node):
    manager = node.manager()
    marker = node.root / "interrupted"
    body = f"trap 'echo int > {marker}; exit 0' INT; while true; do sleep 0.05; done"
    manager.create("job", sh(body, shutdown_signal=PosixSignal.SIGINT))
    manager.start("job")
    wait_until((node.jobs_dir / "job/script.pid").exists)
    manager.stop("job")
    assert marker.read_text() == "int\n"
    assert node.status(manager, "job") == "stopped"


def test_a_script_ignoring_its_signal_is_killed_after_the_shutdown_timeout(node):
    manager = node.manager()
    body = f"trap '' TERM; while true; do sleep 0.05; done # {node.root}"
    manager.create("job", sh(body, shutdown_timeout_secs=1))
    manager.start("job")
    wait_until((node.jobs_dir / "job/script.pid").exists)
    script = int((node.jobs_dir / "job/script.pid").read_text())
    started = time.monotonic()
    manager.stop("job")
    assert 1 <= time.monotonic() - started < 3
    assert gone(script)
    assert node.status(manager, "job") == "stopped"


def test_run_as_a_missing_user(node):
    manager = node.manager()
    manager.create("job", sh("true", run_as="no-such-user-here"))
    manager.start("job")
    wait_until(lambda: finished(manager, "job"))
    assert node.status(manager, "job") == {
        "finished": {"exit_code": None, "message": "cant run as a 'no-such-user-here': user not found"}
    }


def test_skip_and_cleanup(node):
    manager = node.manager()
    manager.create("job", sh(f"sleep 30 # {node.root}"))
    manager.start("job")
    wait_until((node.jobs_dir / "job/runner.pid").exists)
    with refused(FailedPrecondition, "can't cleanup active job"):
        manager.cleanup("job")
    manager.skip("job")
    assert node.status(manager, "job") == {"finished": {"exit_code": 0, "message": "Skipped"}}
    manager.cleanup("job")
    with pytest.raises(NotFound):
        manager.cleanup("unknown")


def test_graceful_and_forced_shutdown(node):
    manager = node.manager()
    manager.create("job", sh(f"sleep 30 # {node.root}", shutdown_timeout_secs=3))
    manager.create("other", sh(f"sleep 30 # {node.root}", shutdown_timeout_secs=4))
    manager.start("job")
    manager.start("other")
    wait_until(
        lambda: (node.jobs_dir / "other/runner.pid").exists() and (node.jobs_dir / "job/runner.pid").exists()
    )
    assert manager.active_jobs_shutdown_timeout() == 7
    runner = node.runner_pid("job")
    node.discard(manager)
    with refused(FailedPrecondition, "the agent is shutting down"):
        manager.start("job")
    assert process_cmdline(runner)

    adopting = node.manager()
    adopting.shutdown(force=True)
    assert gone(runner)
    # Stopped to run again: the next agent starts it (see the tests below).
    assert node.status(adopting, "job") == {"pending": {"waiting_for": []}}
    assert node.saved_status("job") == {"pending": {"waiting_for": []}}


def test_jobs_stopped_by_a_forced_shutdown_start_again_without_a_crash(node):
    """A node stop (`shutdown_babel(force=True)`) then start: the service runs again, with restart count 0
    and no crash logged, once what it needs is done; a finished job stays finished."""
    manager = node.manager()
    runs = node.root / "runs"
    manager.create("init", sh(f"echo run >> {runs}"))
    service = sh(f"sleep 30 # {node.root}", restart=ALWAYS, needs=["init"])
    manager.create("service", service)
    manager.start("init")
    manager.start("service")
    wait_until(lambda: (node.jobs_dir / "service/script.pid").exists(), what="the service started")
    runner = node.runner_pid("service")
    manager.shutdown(force=True)
    assert gone(runner)
    assert node.saved_status("service") == {"pending": {"waiting_for": ["init"]}}

    restarted = node.manager()
    wait_until(lambda: node.runner_pid("service") not in (None, runner), what="the service again")
    info = restarted.info("service")
    assert (info.status, info.restart_count, info.logs) == (JobStatus.running(), 0, [])
    assert node.status(restarted, "init") == {"finished": {"exit_code": 0, "message": ""}}
    assert runs.read_text() == "run\n"


def test_a_job_awaiting_its_restart_is_not_counted_again_after_a_forced_shutdown(node):
    """A crash is counted once: a forced shutdown during the backoff leaves the job pending, not crashed."""
    slow = RestartPolicy.always(RestartConfig(backoff_timeout_ms=60_000, backoff_base_ms=60_000))
    manager = node.manager()
    manager.create("service", sh(f"sleep 30 # {node.root}", restart=slow))
    manager.start("service")
    script_pid = node.jobs_dir / "service/script.pid"
    wait_until(script_pid.exists, what="the service started")
    runner = node.runner_pid("service")
    os.kill(runner, signal.SIGKILL)
    wait_until(lambda: manager.info("service").restart_count == 1, what="the crash noticed")
    manager.shutdown(force=True)
    assert node.saved_status("service") == {"pending": {"waiting_for": []}}

    restarted = node.manager()
    wait_until(lambda: node.runner_pid("service") not in (None, runner), what="the service again")
    info = restarted.info("service")
    assert (info.status, info.restart_count) == (JobStatus.running(), 1)
    assert sum("ended unexpectedly" in entry for entry in info.logs) == 1


def test_old_events_leave_the_job_info(node):
    now = [time.time()]
    manager = node.manager(supervise=False, clock=lambda: now[0])
    manager.create("job", sh("true"))
    events = node.jobs_dir / "job/events.jsonl"
    events.write_text(
        json.dumps({"at": now[0] - 10, "log": "recent"})
        + "\n"
        + json.dumps({"at": now[0] - 10, "restart": True})
        + "\n"
    )
    info = manager.info("job")
    assert (info.restart_count, [entry.split("| ")[1] for entry in info.logs]) == (1, ["recent"])
    now[0] += 24 * 3600
    info = manager.info("job")
    assert (info.restart_count, info.logs) == (0, [])
