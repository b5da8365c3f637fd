"""The real node agent (`babel --runtime bwrap`) runs its calls and jobs inside a bwrap node."""

import contextlib
import os
import subprocess
import sys

import pytest
from runtime_support import wait_until

from babel_api.models import JobConfig, JobType, NodeEnv, RestartPolicy
from blockvisor_core.agent.client import AgentClient
from blockvisor_core.sockets import answers


@pytest.fixture
def agent(bwrap, nodes):
    """A running host-view node and its agent, with a client; both stopped afterwards."""
    node = nodes(None)
    bwrap.create(node)
    bwrap.start(node)
    agent_socket = node.node_dir / "babel.socket"
    command = [sys.executable, "-m", "blockvisor_core.agent", "--node-dir", str(node.node_dir)]
    command.append("--runtime=bwrap")
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    client = AgentClient(agent_socket, timeout=10)
    try:
        wait_until(lambda: answers(agent_socket) or process.poll() is not None, "the agent")
        assert process.poll() is None, "the agent exited"
        client.setup_babel(NodeEnv(node_id=node.id, data_mount_point="/blockjoy"))
        yield node, client
        with contextlib.suppress(Exception):
            client.stop_all_jobs()
    finally:
        client.close()
        process.kill()
        process.wait()


def test_calls_and_jobs_run_inside_the_node(agent):
    node, client = agent
    result = client.run_sh("hostname; ls -A /root | wc -l; test -e /work && echo host-visible; true")
    assert result.stdout.split() == [node.name.replace("_", "-"), "0"]

    client.create_job(
        "service",
        JobConfig(
            job_type=JobType.run_sh("echo $$ > /blockjoy/service.pid; exec sleep 1000"),
            restart=RestartPolicy.never(),
            shutdown_timeout_secs=5,
        ),
    )
    client.start_job("service")
    pid_file = node.data_dir / "service.pid"
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), "the service to start")
    # The pid the service sees is small: it runs in the node's own PID namespace.
    inside_pid = int(pid_file.read_text())
    assert inside_pid < 100
    listing = client.run_sh(f"cat /proc/{inside_pid}/cmdline | tr '\\0' ' '").stdout
    assert listing.strip() == "sleep 1000"
    client.stop_job("service")
    gone = f"test -e /proc/{inside_pid} || echo gone"
    wait_until(lambda: client.run_sh(gone).stdout.strip() == "gone", "the service to stop")
    assert os.path.exists(node.node_dir / "var/lib/babel/jobs/service")
