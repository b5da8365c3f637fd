"""The agent as a process: its socket, signals, and a restart over the same node folder."""

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from agent_support import agent_command, process_gone, wait_until

from babel_api.models import JobConfig, JobStatus, JobType, NodeEnv, RestartPolicy
from blockvisor_core.agent.client import AgentCallError
from blockvisor_core.sockets import answers


def test_the_babel_command(tmp_path):
    babel = str(Path(sys.executable).with_name("babel"))
    usage = subprocess.run([babel, "--help"], capture_output=True, text=True, timeout=20)
    assert usage.returncode == 0
    assert "--node-dir" in usage.stdout and "--runtime" in usage.stdout
    unknown = subprocess.run(
        [babel, "--node-dir", str(tmp_path), "--runtime", "teleport"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert unknown.returncode == 1
    assert "unknown runtime 'teleport'" in unknown.stderr


def test_a_stale_socket_file_is_replaced(agents, tmp_path):
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(node_dir / "babel.socket"))
    agent = agents(node_dir)
    assert agent.client.get_version()


def test_a_second_agent_on_the_same_node_is_refused(agent):
    second = subprocess.run(
        agent_command(agent.node_dir),
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert second.returncode != 0
    assert "another agent already serves" in second.stderr
    assert agent.client.get_version()


def start_sleeper(agent) -> None:
    agent.client.setup_babel(NodeEnv(node_id="n1", data_mount_point=str(agent.node_dir / "blockjoy")))
    sleeper = JobConfig(
        job_type=JobType.run_sh("sleep 1000"), restart=RestartPolicy.never(), shutdown_timeout_secs=5
    )
    agent.client.create_job("sleeper", sleeper)
    agent.client.start_job("sleeper")
    wait_until(
        lambda: (agent.node_dir / "var/lib/babel/jobs/sleeper/script.pid").exists(), what="the job start"
    )


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_the_agent_and_leaves_the_jobs_running(agent, number):
    start_sleeper(agent)
    runner, script = agent.runner_pid("sleeper"), agent.script_pid("sleeper")
    agent.process.send_signal(number)
    assert agent.process.wait(timeout=10) == 0
    assert not agent.socket.exists()
    assert not answers(agent.socket)
    assert not process_gone(runner)
    assert not process_gone(script)


def test_a_restarted_agent_adopts_the_running_job(agents, agent):
    start_sleeper(agent)
    runner = agent.runner_pid("sleeper")
    before = agent.client.job_info("sleeper")
    assert before.status == JobStatus.running()
    agent.process.kill()
    agent.process.wait()
    assert agent.socket.exists()  # left behind by the killed agent
    restarted = agents(agent.node_dir)
    after = restarted.client.job_info("sleeper")
    assert (after.status, after.timestamp) == (before.status, before.timestamp)
    assert restarted.runner_pid("sleeper") == runner
    assert not process_gone(runner)
    restarted.client.stop_job("sleeper")
    assert process_gone(runner)


def test_shutdown_babel_stops_the_jobs_only_when_forced(agents, agent):
    start_sleeper(agent)
    runner = agent.runner_pid("sleeper")
    agent.client.shutdown_babel(force=False)
    assert not process_gone(runner)
    assert agent.client.get_version()
    with pytest.raises(AgentCallError) as refused:
        agent.client.stop_job("sleeper")
    assert refused.value.code == "FAILED_PRECONDITION"
    agent.process.kill()
    agent.process.wait()
    restarted = agents(agent.node_dir)
    restarted.client.shutdown_babel(force=True)
    assert process_gone(runner)
