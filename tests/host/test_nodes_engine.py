"""The host side of the Babel engine: what it keeps in the node's folder, what it forwards to the agent,
and the errors a script sees."""

import datetime
import json
from pathlib import Path

import pytest
from loguru import logger

from babel_api.models import JobConfig, JobType, NodeEnv, RestartPolicy
from babel_api.plugin_config import PluginConfig
from blockvisor_core.agent.client import AgentCallError
from blockvisor_core.nodes.engine import EngineError, HostEngine
from blockvisor_core.nodes.scheduler import Scheduler, Task
from blockvisor_core.secrets import SecretStore


class FakeAgent:
    """Records the calls the engine makes; `fail` makes every call fail with that (code, message)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.fail: tuple[str, str] | None = None

    def __getattr__(self, name: str):
        def call(*args):
            self.calls.append((name, *args))
            if self.fail:
                raise AgentCallError(*self.fail)
            return {"protocol_data_stamp": 1700000000.0, "get_job_shutdown_timeout": 5.0}.get(name)

        return call


class FakeNode:
    def __init__(self, folder: Path) -> None:
        self.id = "node-1"
        self.dir = folder
        self.agent = FakeAgent()
        self.timeouts: list[float | None] = []

    def params(self) -> dict[str, str]:
        return {"greeting": "hi"}

    def node_env(self) -> NodeEnv:
        return NodeEnv(node_id=self.id, data_mount_point=str(self.dir / "data"))

    def agent_call(self, call, timeout=None):
        self.timeouts.append(timeout)
        return call(self.agent)


async def never(task: Task) -> None:
    raise AssertionError("nothing fires here")


@pytest.fixture
def node(tmp_path) -> FakeNode:
    return FakeNode(tmp_path / "node")


@pytest.fixture
def engine(node, tmp_path) -> HostEngine:
    return HostEngine(node, Scheduler(tmp_path / "tasks.json", never), SecretStore(tmp_path / "secrets"))


def test_data_and_config_live_in_the_nodes_folder(engine, node):
    with pytest.raises(FileNotFoundError):
        engine.load_data()
    engine.save_data("height 42")
    assert engine.load_data() == "height 42"
    assert (node.dir / "plugin.data").read_text() == "height 42"

    assert engine.load_config() is None
    config = PluginConfig.from_script({"services": [{"name": "svc", "run_sh": "sleep 1"}]})
    engine.save_config(config)
    assert engine.load_config() == config
    assert json.loads((node.dir / "plugin_config.json").read_text())["services"][0]["name"] == "svc"


def test_secrets_are_the_nodes_own(engine, tmp_path):
    assert engine.get_secret("key") is None
    engine.put_secret("key", b"\x00secret")
    assert engine.get_secret("key") == b"\x00secret"
    assert SecretStore(tmp_path / "secrets").get("node-2", "key") is None


def test_jobs_and_commands_go_to_the_agent(engine, node):
    config = JobConfig(job_type=JobType.run_sh("sleep 1"), restart=RestartPolicy.never())
    engine.create_job("  svc ", config)
    engine.start_job("svc")
    engine.stop_job("svc")
    engine.run_sh("echo hi", 3)
    engine.render_template(Path("/t.tera"), Path("/out"), "{}")
    assert [call[0] for call in node.agent.calls] == [
        "create_job", "start_job", "get_job_shutdown_timeout", "stop_job", "run_sh", "render_template",
    ]  # fmt: skip
    assert node.agent.calls[0][1] == "svc"
    # Stopping a job may take its shutdown timeout: 5 s here, plus the margin.
    assert node.timeouts[3] == 20.0
    assert engine.protocol_data_stamp() == datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC)
    assert engine.node_params() == {"greeting": "hi"}


def test_a_script_sees_the_agents_message(engine, node):
    node.agent.fail = ("NOT_FOUND", "can't start, job 'x' not found")
    with pytest.raises(EngineError) as caught:
        engine.start_job("x")
    assert str(caught.value) == "can't start, job 'x' not found"


def test_requests_refused_by_the_host(engine, node):
    with pytest.raises(EngineError, match="empty job name is not allowed"):
        engine.create_job("  ", JobConfig(job_type=JobType.run_sh("true"), restart=RestartPolicy.never()))
    # Without an archive config there is nothing to download.
    assert engine.has_protocol_archive() is False
    with pytest.raises(EngineError, match="manifest not available for node node-1"):
        engine.create_job("download", JobConfig(job_type=JobType.download(), restart=RestartPolicy.never()))
    with pytest.raises(EngineError, match="invalid cron schedule"):
        engine.add_task("t", "* * *", "f", "")
    with pytest.raises(EngineError, match="unknown log level"):
        engine.log("loud", "x")
    assert node.agent.calls == []


def test_tasks_go_to_the_scheduler(engine):
    engine.add_task("tick", "* * * * * *", "tick", "")
    assert engine.scheduler.tasks() == [
        Task(node_id="node-1", name="tick", schedule="* * * * * *", function="tick")
    ]
    engine.delete_task("tick")
    assert engine.scheduler.tasks() == []


def test_plugin_logs_carry_the_node_id(engine):
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(message.record["level"].name + " " + message.record["message"])
    )
    try:
        engine.log("warn", "disk {almost} full")
    finally:
        logger.remove(sink)
    assert lines == ["WARNING node_id: node-1|disk {almost} full"]
