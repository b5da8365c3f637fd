"""Nothing lost, nothing restarted: a daemon stopped or killed with SIGKILL, even in the middle of a
start, finds every node as it was when it starts again; recovery brings back a node whose agent died."""

import json
import os
import signal
import threading

from host_support import agent_pid, alive, runner_pid, wait_until, write_image

from blockvisor_core.protos import blockvisor_pb2 as pb

IMAGE = "testproto/testproto-devnet/0.1.0"


def started(daemon, sandbox, name: str, image: str = IMAGE) -> tuple[str, int, int]:
    """A node created and started, with its service running: (id, agent pid, service runner pid)."""
    node = daemon.call("CreateNode", pb.CreateNodeRequest(image=image, name=name))
    daemon.call("StartNode", pb.NodeRef(id_or_name=name))
    wait_until(lambda: alive(runner_pid(sandbox.paths, node.id, "sleeper")), what=f"{name}'s service running")
    return node.id, agent_pid(sandbox.paths, node.id), runner_pid(sandbox.paths, node.id, "sleeper")


def test_a_killed_daemon_finds_every_node_as_it_was(daemon, sandbox, tmp_path):
    running_id, agent, service = started(daemon, sandbox, "steady")
    daemon.call("CreateNode", pb.CreateNodeRequest(image=IMAGE, name="idle"))
    slow = write_image(tmp_path / "slow", "0.1.0", "sleeper", init_command="sleep 2")
    slow_id = daemon.call("CreateNode", pb.CreateNodeRequest(image=str(slow), name="slow")).id
    tasks_before = json.loads(sandbox.paths.scheduler_state.read_text())

    # Killed while it starts a node whose init takes a while.
    starting = threading.Thread(
        target=lambda: daemon.error("StartNode", pb.NodeRef(id_or_name="slow")), daemon=True
    )
    starting.start()
    wait_until(lambda: (sandbox.paths.node_dir(slow_id) / "babel.pid").exists(), what="the slow node's agent")
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    starting.join()

    daemon.start()
    wait_until(lambda: daemon.status("steady") != "busy", timeout=10, what="the first recovery round")
    steady = daemon.node("steady")
    assert (steady.status, steady.expected_status) == ("running", "running")
    assert (agent_pid(sandbox.paths, running_id), runner_pid(sandbox.paths, running_id, "sleeper")) == (
        agent,
        service,
    )
    assert alive(agent) and alive(service)
    assert daemon.status("idle") == "stopped"
    assert json.loads(sandbox.paths.scheduler_state.read_text()) == tasks_before
    # The cut-short start is finished by recovery, which runs at once; its init ran to the end once.
    wait_until(lambda: daemon.status("slow") == "running", timeout=20, what="the slow node running")
    wait_until(lambda: "finished" in daemon.jobs("slow")["first_run"]["status"], what="the init job finished")
    assert (sandbox.paths.node_dir(slow_id) / "data" / "runs").read_text() == "run\n"


def test_a_stopped_daemon_leaves_the_nodes_running(daemon, sandbox):
    node_id, agent, service = started(daemon, sandbox, "steady")
    assert daemon.stop(signal.SIGTERM) == 0
    assert not sandbox.paths.socket.exists()
    assert alive(agent) and alive(service)
    daemon.start()
    # The first recovery round runs at once and holds each node while it checks it: `busy` meanwhile.
    wait_until(lambda: daemon.status("steady") != "busy", timeout=10, what="the first recovery round")
    assert daemon.status("steady") == "running"
    assert runner_pid(sandbox.paths, node_id, "sleeper") == service


def test_recovery_restarts_an_agent_that_died(daemon, sandbox):
    node_id, agent, service = started(daemon, sandbox, "fragile")
    os.kill(agent, signal.SIGKILL)
    wait_until(lambda: not alive(agent), what="the agent gone")
    # Recovery runs every 15 s; the node's jobs keep running meanwhile and the new agent adopts them.
    wait_until(
        lambda: daemon.status("fragile") == "running" and agent_pid(sandbox.paths, node_id) != agent,
        timeout=25,
        what="the node recovered",
    )
    assert runner_pid(sandbox.paths, node_id, "sleeper") == service and alive(service)
    assert daemon.jobs("fragile")["sleeper"]["status"] == "running"
    assert "recovered (agent restarted)" in daemon.output()


def test_a_node_whose_agent_stops_answering_shows_failed(daemon, sandbox):
    _, agent, _ = started(daemon, sandbox, "fragile")
    # Stopped rather than killed, so that recovery, which runs every 15 s, cannot mend it meanwhile.
    os.kill(agent, signal.SIGSTOP)
    try:
        # A listing counts the agent's answer of moments ago (VIEW_AGENT_MAX_AGE_SECS); asking for the
        # node probes its agent.
        listed = daemon.call("GetNodes", pb.Empty()).nodes
        assert [node.status for node in listed if node.name == "fragile"] == ["running"]
        assert daemon.status("fragile") == "failed"
    finally:
        os.kill(agent, signal.SIGCONT)
    wait_until(lambda: daemon.status("fragile") == "running", what="the agent answering again")
