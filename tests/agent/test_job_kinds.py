"""A plugin's job kind (download, upload) run by the job runner under the job's restart policy."""

import json
import threading
import time
from pathlib import Path

import pytest

from babel_api.models import JobConfig, JobProgress, JobType, NodeEnv, RestartConfig, RestartPolicy
from blockvisor_core.agent.jobs import JobsManager
from blockvisor_core.agent.runner import JobRunner
from blockvisor_core.hookspecs import hookimpl
from blockvisor_core.plugins import plugin_manager

RETRYING = RestartPolicy.on_failure(
    RestartConfig(backoff_timeout_ms=60_000, backoff_base_ms=1, max_retries=2)
)


class FlakyDownloads:
    """A plugin whose download fails `failures` times, reporting progress on every attempt."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.archive = object()
        self.contexts = []

    @hookimpl
    def agent_job_kinds(self):
        return {"download": self.download}

    @hookimpl
    def archive_api(self, node_dir, node_env):
        return self.archive

    def download(self, context) -> None:
        self.attempts += 1
        self.contexts.append(context)
        context.report_progress(JobProgress(total=4, current=self.attempts, message="chunks", bytes_total=40))
        if self.attempts <= self.failures:
            raise OSError("connection reset") from TimeoutError("part 3")


@pytest.fixture
def node(tmp_path: Path):
    manager = JobsManager(
        tmp_path, "process", plugin_manager().hook.runtime_node_access(runtime="process", node_dir=tmp_path)
    )
    manager.setup(
        NodeEnv(data_mount_point=str(tmp_path / "data"), protocol_data_path=str(tmp_path / "data/p"))
    )
    manager.create("download", JobConfig(job_type=JobType.download(), restart=RETRYING))
    return tmp_path


def run_with(plugin: FlakyDownloads, node_dir: Path) -> JobRunner:
    plugin_manager().register(plugin)
    try:
        runner = JobRunner(node_dir, "process", "download", stop=threading.Event(), clock=time.monotonic)
        runner.run()
        return runner
    finally:
        plugin_manager().unregister(plugin)


def test_failed_attempts_are_retried_by_policy_then_the_job_finishes(node):
    plugin = FlakyDownloads(failures=2)
    runner = run_with(plugin, node)
    assert plugin.attempts == 3
    assert runner.folder.read_status().to_json() == {"finished": {"exit_code": 0, "message": ""}}
    progress = json.loads(runner.folder.progress.read_text())
    assert progress == {"total": 4, "current": 3, "message": "chunks", "bytes_total": 40}
    context = plugin.contexts[0]
    assert (context.name, context.archive, context.job_dir) == (
        "download",
        plugin.archive,
        runner.folder.path,
    )
    messages = [message for _, message in runner.folder.events.read(time.time())[0]]
    assert "job 'download' failed with: connection reset: part 3" in messages


def test_retries_run_out_with_the_last_error(node):
    plugin = FlakyDownloads(failures=10)
    runner = run_with(plugin, node)
    assert plugin.attempts == 3
    status = runner.folder.read_status().to_json()
    assert status == {
        "finished": {"exit_code": -1, "message": "job 'download' failed with: connection reset: part 3"}
    }
