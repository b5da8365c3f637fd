"""A real `blockvisord` with the process runtime, driven through its gRPC service as `bv` drives it:
node create, start, status, stop (forced too), restart, delete and upgrade, with the node's agent and
job runners as real processes."""

import json
import os
import stat
import subprocess

import grpc
from host_support import agent_pid, alive, daemon_command, runner_pid, wait_until

from blockvisor_core.protos import blockvisor_pb2 as pb

IMAGE = "testproto/testproto-devnet"


def create(daemon, name: str, image: str = f"{IMAGE}/0.1.0", **properties: str) -> pb.Node:
    return daemon.call("CreateNode", pb.CreateNodeRequest(image=image, properties=properties, name=name))


def run(daemon, ref: str, method: str, param: str = "") -> str:
    return daemon.call("Run", pb.RunRequest(id_or_name=ref, method=method, param=param)).result


def running(daemon, sandbox, ref: str, job: str) -> int:
    """Wait until the node's job runs in a runner of its own; the runner's pid."""
    node_id = daemon.node(ref).id
    wait_until(
        lambda: (
            daemon.jobs(ref)[job]["status"] == "running" and alive(runner_pid(sandbox.paths, node_id, job))
        ),
        what=f"job {job} running",
    )
    return runner_pid(sandbox.paths, node_id, job)


def runs(sandbox, node_id: str) -> list[str]:
    """The lines the one-time init job wrote: one per time it ran."""
    return (sandbox.paths.node_dir(node_id) / "data" / "runs").read_text().splitlines()


def test_the_service_socket_is_the_owners_only(daemon, sandbox):
    assert stat.S_IMODE(sandbox.paths.socket.stat().st_mode) == 0o600
    info = daemon.call("Info", pb.Empty())
    assert (info.root, info.runtime, info.status) == (str(sandbox.paths.root), "process", "ok")


def test_create_start_stop_restart_delete(daemon, sandbox):
    node = create(daemon, "alpha", greeting="hi")
    assert (node.status, node.expected_status, node.version) == ("stopped", "stopped", "0.1.0")
    assert dict(node.properties) == {"greeting": "hi", "mode": "fast"}
    assert node.ip.startswith("10.89.0.") and node.gateway == "10.89.0.1"
    assert (sandbox.paths.node_dir(node.id) / "state.json").is_file()

    started = daemon.call("StartNode", pb.NodeRef(id_or_name="alpha"))
    assert (started.status, started.expected_status) == ("running", "running")
    assert started.started_at > 0
    service = running(daemon, sandbox, "alpha", "sleeper")
    assert daemon.jobs("alpha")["first_run"]["status"] == {"finished": {"exit_code": 0, "message": ""}}
    assert run(daemon, "alpha", "height") == "42"
    assert run(daemon, node.id, "greet", "bob") == "hi, bob"
    metrics = daemon.call("GetNodeMetrics", pb.NodeRef(id_or_name="alpha"))
    assert (metrics.height, metrics.protocol_state, metrics.protocol_health) == (
        42,
        "broadcasting",
        "healthy",
    )
    assert {"height", "greet", "init", "upload"} <= set(
        daemon.call("ListCapabilities", pb.NodeRef(id_or_name="alpha")).names
    )

    stopped = daemon.call("StopNode", pb.StopNodeRequest(id_or_name="alpha"))
    assert (stopped.status, stopped.expected_status, stopped.started_at) == ("stopped", "stopped", 0)
    assert not alive(service)
    assert not (sandbox.paths.node_dir(node.id) / "babel.pid").exists()
    error = daemon.error("GetNodeJobs", pb.NodeRef(id_or_name="alpha"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "agent is not running" in error.details()

    # Started again, the node resumes its service without running init (nor the one-time job) again.
    assert daemon.call("StartNode", pb.NodeRef(id_or_name="alpha")).status == "running"
    restarted = running(daemon, sandbox, "alpha", "sleeper")
    assert restarted != service
    assert runs(sandbox, node.id) == ["run"]

    assert daemon.call("RestartNode", pb.StopNodeRequest(id_or_name="alpha")).status == "running"
    service = running(daemon, sandbox, "alpha", "sleeper")
    assert service != restarted

    forced = daemon.call("StopNode", pb.StopNodeRequest(id_or_name="alpha", force=True))
    assert forced.status == "stopped" and not alive(service)

    daemon.call("DeleteNode", pb.NodeRef(id_or_name="alpha"))
    assert not sandbox.paths.node_dir(node.id).exists()
    assert daemon.error("GetNode", pb.NodeRef(id_or_name=node.id)).code() == grpc.StatusCode.NOT_FOUND
    assert daemon.call("GetNodes", pb.Empty()).nodes == []


def test_a_running_node_is_deleted_with_its_processes(daemon, sandbox):
    node = create(daemon, "beta")
    daemon.call("StartNode", pb.NodeRef(id_or_name="beta"))
    processes = [agent_pid(sandbox.paths, node.id), running(daemon, sandbox, "beta", "sleeper")]
    daemon.call("DeleteNode", pb.NodeRef(id_or_name="beta"))
    wait_until(lambda: not any(map(alive, processes)), what="the node's processes gone")
    assert not sandbox.paths.node_dir(node.id).exists()


def test_upgrade_keeps_the_data_and_runs_no_one_time_job_again(daemon, sandbox):
    node = create(daemon, "gamma", image=f"{IMAGE}/0.1.0", mode="slow")
    daemon.call("StartNode", pb.NodeRef(id_or_name="gamma"))
    assert run(daemon, "gamma", "version") == "0.1.0"
    # An init job blocks upgrades while it runs.
    wait_until(
        lambda: "finished" in daemon.jobs("gamma")["first_run"]["status"], what="the init job finished"
    )
    data = sandbox.paths.node_dir(node.id) / "data"
    (data / "chain").write_text("precious")

    upgraded = daemon.call("UpgradeNode", pb.UpgradeNodeRequest(id_or_name="gamma", image=f"{IMAGE}/0.2.0"))
    assert (upgraded.id, upgraded.version, upgraded.status) == (node.id, "0.2.0", "running")
    assert upgraded.image_path == str(sandbox.v2)
    assert dict(upgraded.properties) == {"greeting": "hello", "mode": "slow"}
    assert run(daemon, "gamma", "version") == "0.2.0"
    running(daemon, sandbox, "gamma", "sleeper2")
    assert daemon.jobs("gamma")["sleeper"]["status"] == "stopped"
    assert runs(sandbox, node.id) == ["run"]
    assert (data / "chain").read_text() == "precious"

    # The same version again changes nothing.
    again = daemon.call("UpgradeNode", pb.UpgradeNodeRequest(id_or_name="gamma", image=str(sandbox.v2)))
    assert (again.version, again.started_at) == ("0.2.0", upgraded.started_at)


def test_the_jobs_of_a_node(daemon, sandbox):
    create(daemon, "epsilon")
    daemon.call("StartNode", pb.NodeRef(id_or_name="epsilon"))
    service = running(daemon, sandbox, "epsilon", "sleeper")

    def job(rpc: str, name: str = "sleeper"):
        return daemon.call(rpc, pb.NodeJobRef(id_or_name="epsilon", job=name))

    job("StopNodeJob")
    assert daemon.jobs("epsilon")["sleeper"]["status"] == "stopped" and not alive(service)
    job("StartNodeJob")
    assert running(daemon, sandbox, "epsilon", "sleeper") != service
    job("SkipNodeJob")
    info = json.loads(job("GetNodeJobInfo").info_json)
    assert info["status"] == {"finished": {"exit_code": 0, "message": "Skipped"}}
    job("CleanupNodeJob")
    unknown = daemon.error("StartNodeJob", pb.NodeJobRef(id_or_name="epsilon", job="nope"))
    assert (unknown.code(), unknown.details()) == (
        grpc.StatusCode.NOT_FOUND,
        "node `epsilon`: can't start, job 'nope' not found",
    )


def test_a_reloaded_plugin_answers_with_its_new_code(daemon, sandbox):
    create(daemon, "zeta")
    daemon.call("StartNode", pb.NodeRef(id_or_name="zeta"))
    with (sandbox.v1 / "plugin" / "main.rhai").open("a") as plugin:
        plugin.write('fn added() { "fresh" }\n')
    assert (
        daemon.error("Run", pb.RunRequest(id_or_name="zeta", method="added")).code()
        == grpc.StatusCode.NOT_FOUND
    )
    daemon.call("ReloadPlugin", pb.NodeRef(id_or_name="zeta"))
    assert run(daemon, "zeta", "added") == "fresh"


def test_errors_are_one_line_with_the_status_of_their_kind(daemon, sandbox):
    create(daemon, "delta")
    for rpc, request in [
        ("GetNode", pb.NodeRef(id_or_name="nope")),
        ("StartNode", pb.NodeRef(id_or_name="nope")),
        ("StopNode", pb.StopNodeRequest(id_or_name="nope")),
        ("DeleteNode", pb.NodeRef(id_or_name="nope")),
    ]:
        error = daemon.error(rpc, request)
        assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "Node `nope` not found")

    bad_value = daemon.error("CreateNode", pb.CreateNodeRequest(image=IMAGE, properties={"mode": "warp"}))
    assert bad_value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_value.details() == "property 'mode': 'warp' is not allowed; expected one of: fast, slow"
    unknown = daemon.error("CreateNode", pb.CreateNodeRequest(image=IMAGE, properties={"colour": "red"}))
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT and "'colour'" in unknown.details()
    taken = daemon.error("CreateNode", pb.CreateNodeRequest(image=IMAGE, name="delta"))
    assert (taken.code(), taken.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "node with name `delta` exists",
    )
    no_image = daemon.error("CreateNode", pb.CreateNodeRequest(image="testproto/mainnet"))
    assert (
        no_image.code() == grpc.StatusCode.NOT_FOUND
        and "no node image 'testproto/mainnet'" in no_image.details()
    )

    method = daemon.error("Run", pb.RunRequest(id_or_name="delta", method="fly"))
    assert method.code() == grpc.StatusCode.NOT_FOUND
    assert method.details().startswith("protocol method 'fly' not found; the plugin of node `delta` offers: ")
    assert daemon.call("GetNodes", pb.Empty()).nodes[0].name == "delta"


def test_a_node_whose_state_cannot_be_read_is_kept_as_broken(daemon, sandbox):
    folder = sandbox.paths.nodes / "0b5e1e2e-0000-4000-8000-000000000000"
    folder.mkdir()
    (folder / "state.json").write_text('{"id": 7}')
    daemon.stop()
    daemon.start()
    [broken] = daemon.call("GetNodes", pb.Empty()).nodes
    assert (broken.id, broken.status) == (folder.name, "failed")
    error = daemon.error("StartNode", pb.NodeRef(id_or_name=folder.name))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith(f"cannot start broken node {folder.name}: ")
    daemon.call("DeleteNode", pb.NodeRef(id_or_name=folder.name))
    assert not folder.exists()


def test_the_daemon_needs_a_host_config(tmp_path):
    done = subprocess.run(
        daemon_command(), env={**os.environ, "BV_ROOT": str(tmp_path)}, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert f"no host config at {tmp_path}/etc/blockvisor.json" in done.stderr
