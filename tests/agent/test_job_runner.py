"""The job runner's parts: restart policy and exact backoff (spec §7.4), a run_sh job under its policy
(§7.5), log rotation and timestamps (§7.6), the bounded event log (§2.13)."""

import gzip
import json
import re
import threading
from pathlib import Path

import pluggy
import pytest

from babel_api.models import JobConfig, JobStatus, JobType, NodeEnv, RestartConfig, RestartPolicy
from blockvisor_core import hookspecs
from blockvisor_core.agent import runner as runner_module
from blockvisor_core.agent.restarts import Restarts
from blockvisor_core.agent.runner import EVENT_LIFETIME, MAX_EVENTS, JobEvents, JobRunner, LogFile
from blockvisor_core.files import write_atomic


class Frozen:
    """A clock that moves only when told to, and a sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def restarts(policy: RestartPolicy, frozen: Frozen, stop: threading.Event | None = None):
    logged: list[str] = []
    restarted: list[bool] = []
    policy_runner = Restarts(
        policy,
        stop=stop or threading.Event(),
        log=logged.append,
        restarted=lambda: restarted.append(True),
        clock=frozen.clock,
        sleep=frozen.sleep,
    )
    return policy_runner, logged, restarted


def test_policy_never_finishes_with_the_exit():
    frozen = Frozen()
    policy, logged, restarted = restarts(RestartPolicy.never(), frozen)
    assert policy.stopped(None, "test message") == JobStatus.finished(None, "test message")
    assert policy.stopped(0, "test message") == JobStatus.finished(0, "")
    assert policy.stopped(2, "failed") == JobStatus.finished(2, "failed")
    assert logged == ["test message", "failed"]
    assert restarted == []
    assert frozen.sleeps == []


def test_policy_always_restarts_a_success_until_max_retries():
    frozen = Frozen()
    policy, logged, restarted = restarts(RestartPolicy.always(RestartConfig(1000, 100, 1)), frozen)
    policy.attempt_started()
    assert policy.stopped(0, "test message") is None
    policy.attempt_started()
    assert policy.stopped(1, "test message") == JobStatus.finished(1, "test message")
    assert frozen.sleeps == [0.1]
    assert logged == ["test message", "test message"]
    assert restarted == [True]


def test_policy_on_failure_restarts_failures_only():
    frozen = Frozen()
    config = RestartConfig(1000, 100, 1)
    policy, _, _ = restarts(RestartPolicy.on_failure(config), frozen)
    policy.attempt_started()
    assert policy.stopped(1, "test message") is None
    policy.attempt_started()
    assert policy.stopped(1, "test message") == JobStatus.finished(1, "test message")
    policy, logged, restarted = restarts(RestartPolicy.on_failure(config), frozen)
    assert policy.stopped(0, "test message") == JobStatus.finished(0, "")
    assert logged == []
    assert restarted == []


def test_backoff_doubles_from_the_base():
    frozen = Frozen()
    policy, _, restarted = restarts(RestartPolicy.on_failure(RestartConfig(1000, 100, None)), frozen)
    for _ in range(6):
        policy.attempt_started()
        assert policy.stopped(None, "crash") is None
    assert frozen.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert len(restarted) == 6


def test_an_attempt_longer_than_the_backoff_timeout_resets_the_backoff():
    frozen = Frozen()
    policy, _, restarted = restarts(RestartPolicy.on_failure(RestartConfig(1000, 100, 2)), frozen)
    for _ in range(2):
        policy.attempt_started()
        assert policy.stopped(1, "quick") is None
    assert frozen.sleeps == [0.1, 0.2]
    # Exactly the backoff timeout is still a quick failure: the limit of 2 retries is reached.
    policy.attempt_started()
    frozen.now += 1.0
    assert policy.stopped(1, "quick") == JobStatus.finished(1, "quick")
    # Strictly longer resets the count and restarts at once, whatever the limit.
    policy.attempt_started()
    frozen.now += 1.001
    assert policy.stopped(1, "long") is None
    assert frozen.sleeps == [0.1, 0.2]
    policy.attempt_started()
    assert policy.stopped(1, "quick") is None
    assert frozen.sleeps == [0.1, 0.2, 0.1]
    assert len(restarted) == 4


def test_a_stop_during_the_backoff_is_no_restart():
    frozen = Frozen()
    stop = threading.Event()
    frozen.sleep = lambda seconds: stop.set()
    policy, _, restarted = restarts(RestartPolicy.always(RestartConfig(1000, 100, None)), frozen, stop)
    assert policy.stopped(1, "failed") is None
    assert restarted == []


def test_the_default_sleep_is_cut_short_by_stop():
    stop = threading.Event()
    policy = Restarts(RestartPolicy.always(RestartConfig(10**9, 60_000, None)), stop=stop)
    threading.Timer(0.1, stop.set).start()
    assert policy.stopped(1, "failed") is None


# -- a run_sh job in process, with the frozen clock --------------------------------------------------------


def job_runner(tmp_path: Path, body: str, frozen: Frozen, **options) -> JobRunner:
    node = tmp_path / "node"
    babel = node / "var/lib/babel"
    conf = {"node_env": NodeEnv(data_mount_point=str(node / "blockjoy")).to_json()}
    write_atomic(babel / "babel.conf", json.dumps(conf))
    config = JobConfig(job_type=JobType.run_sh(body), **options)
    write_atomic(babel / "jobs/job_name/config.json", json.dumps(config.to_json()))
    return JobRunner(
        node, "process", "job_name", stop=threading.Event(), clock=frozen.clock, sleep=frozen.sleep
    )


def test_run_sh_runs_initial_plus_max_retries_times(tmp_path):
    frozen = Frozen()
    runner = job_runner(
        tmp_path, "echo 'cmd log' && \\\n", frozen, restart=RestartPolicy.always(RestartConfig(1000, 100, 3))
    )
    runner.run()
    status = json.loads((runner.folder.status).read_text())
    assert status == {"finished": {"exit_code": 0, "message": "Job 'job_name' finished with exit status: 0"}}
    assert runner.folder.logs.read_text() == "cmd log\n" * 4
    assert frozen.sleeps == [0.1, 0.2, 0.4]
    logs, restarts = runner.folder.events.read(frozen.now)
    assert len(restarts) == 3
    assert [message for _, message in logs] == ["Job 'job_name' finished with exit status: 0"] * 4


def test_run_sh_logs_stdout_and_stderr_with_timestamps(tmp_path):
    frozen = Frozen()
    body = "echo one; echo err1 >&2; echo two; exit 4"
    runner = job_runner(tmp_path, body, frozen, restart=RestartPolicy.never(), log_timestamp=True)
    runner.run()
    assert json.loads(runner.folder.status.read_text()) == {
        "finished": {"exit_code": 4, "message": "Job 'job_name' finished with exit status: 4"}
    }
    lines = runner.folder.logs.read_text().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d\|"
    assert all(re.fullmatch(stamp + r"(one|two|err1)", line) for line in lines), lines
    assert sorted(line.split("|")[1] for line in lines) == ["err1", "one", "two"]
    assert [line.split("|")[1] for line in lines if "err" not in line] == ["one", "two"]


def test_run_sh_reports_a_shell_killed_by_a_signal_as_a_failure(tmp_path):
    frozen = Frozen()
    runner = job_runner(tmp_path, "kill -9 $$", frozen, restart=RestartPolicy.never())
    runner.run()
    assert json.loads(runner.folder.status.read_text()) == {
        "finished": {"exit_code": None, "message": "Job 'job_name' finished with signal: 9 (SIGKILL)"}
    }


# -- the logs file ------------------------------------------------------------------------------------------


def test_logs_rotate_at_capacity_keeping_two_compressed_generations(tmp_path):
    path = tmp_path / "logs"
    logs = LogFile(path, limit=20)
    lines = [f"line {n:02}\n".encode() for n in range(10)]  # 8 bytes each: a rotation every 3 lines
    for line in lines:
        logs.write(line)
    logs.close()
    assert path.read_bytes() == lines[9]
    assert gzip.decompress((tmp_path / "logs.1.gz").read_bytes()) == b"".join(lines[6:9])
    assert gzip.decompress((tmp_path / "logs.2.gz").read_bytes()) == b"".join(lines[3:6])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "logs.1.gz", "logs.2.gz"]


def test_logs_append_to_an_existing_file_and_count_it(tmp_path):
    path = tmp_path / "logs"
    path.write_bytes(b"x" * 15)
    logs = LogFile(path, limit=20)
    logs.write(b"12345\n")
    logs.close()
    assert path.read_bytes() == b""
    assert gzip.decompress((tmp_path / "logs.1.gz").read_bytes()) == b"x" * 15 + b"12345\n"


# -- the event log behind JobInfo logs and restart counts -------------------------------------------------


def test_events_keep_1024_entries_of_1024_characters_newest_first(tmp_path):
    events = JobEvents(tmp_path)
    for n in range(MAX_EVENTS + 100):
        events.log(f"message {n}", at=1000.0 + n)
    events.log("y" * 5000, at=5000.0)
    logs, restarts = events.read(now=6000.0)
    assert len(logs) == MAX_EVENTS
    assert logs[0] == (5000.0, "y" * 1024)
    assert logs[1][1] == f"message {MAX_EVENTS + 99}"
    assert logs[-1][1] == "message 101"
    assert restarts == []
    assert len(events.path.read_text().splitlines()) == MAX_EVENTS


def test_events_a_day_old_are_dropped(tmp_path):
    events = JobEvents(tmp_path)
    events.log("old", at=0.0)
    events.restart(at=0.0)
    events.restart(at=10.0)
    events.log("new", at=10.0)
    with events.path.open("a") as file:
        file.write("not json\n")
    logs, restarts = events.read(now=EVENT_LIFETIME + 5.0)
    assert logs == [(10.0, "new")]
    assert restarts == [10.0]
    assert events.read(now=EVENT_LIFETIME + 10.0) == ([], [])


@pytest.mark.parametrize("kind", ["download", "upload"])
def test_job_kinds_without_a_plugin_finish_with_a_clear_message(tmp_path, kind, monkeypatch):
    frozen = Frozen()
    runner = job_runner(tmp_path, "true", frozen, restart=RestartPolicy.never())
    runner.config = JobConfig(job_type=getattr(JobType, kind)(), restart=RestartPolicy.never())
    without_plugins = pluggy.PluginManager(hookspecs.PROJECT)
    without_plugins.add_hookspecs(hookspecs)
    monkeypatch.setattr(runner_module, "plugin_manager", lambda: without_plugins)
    runner.run()
    assert JobStatus.from_json(json.loads(runner.folder.status.read_text())) == JobStatus.finished(
        None, f"job 'job_name': no installed plugin runs '{kind}' jobs"
    )
