"""Every RPC of the agent, through a real `babel` process on its real socket (spec §7.7 and more)."""

import importlib.metadata
import json
import os
import stat
from pathlib import Path

import grpc
import pytest
from agent_support import process_gone

from babel_api.models import JobConfig, JobStatus, JobType, JrpcRequest, NodeEnv, RestartPolicy, RestRequest
from blockvisor_core.agent.client import AgentCallError
from blockvisor_core.protos import babel_pb2 as pb
from blockvisor_core.protos import babel_pb2_grpc


def call_error(action) -> AgentCallError:
    with pytest.raises(AgentCallError) as info:
        action()
    return info.value


# -- the agent ----------------------------------------------------------------------------------------------


def test_the_socket_is_for_the_agent_user_only(agent):
    mode = agent.socket.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_version_is_the_package_version(agent):
    assert agent.client.get_version() == importlib.metadata.version("blockvisor")


# -- run_sh -------------------------------------------------------------------------------------------------


def test_run_sh_returns_output_and_exit_code(agent):
    response = agent.client.run_sh('echo "make a toast"; >&2 echo "error"')
    assert (response.exit_code, response.stdout, response.stderr) == (0, "make a toast\n", "error\n")
    response = agent.client.run_sh("echo out; echo err >&2; exit 3 && \\")
    assert (response.exit_code, response.stdout, response.stderr) == (3, "out\n", "err\n")


def test_run_sh_runs_in_the_node_folder(agent):
    assert agent.client.run_sh("pwd").stdout == f"{agent.node_dir.resolve()}\n"


def test_run_sh_timeout_kills_the_command_and_every_descendant(agent):
    # A background child and a nested shell with its own child: all in the shell's process group.
    body = "sleep 987654 & echo $! > pids; sh -c 'echo $$ >> pids; sleep 987653; true'"
    error = call_error(lambda: agent.client.run_sh(body, timeout=0.5))
    assert error.code == "DEADLINE_EXCEEDED"
    assert "timed out after 0.5 s" in error.message
    pids = [int(pid) for pid in (agent.node_dir / "pids").read_text().split()]
    assert len(pids) == 2
    assert all(process_gone(pid) for pid in pids)
    assert not [pid for pid in _pids_running("sleep", "987653") if not process_gone(pid)]


def _pids_running(*argv: str) -> list[int]:
    wanted = "\0".join(argv).encode() + b"\0"
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == wanted:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_run_sh_output_is_cut_at_16_mib(agent):
    response = agent.client.run_sh("head -c 17825792 /dev/zero | tr '\\0' a", timeout=10)
    assert response.stdout == "a" * 2**24 + "\n[output cut: 1048576 more bytes]"


def test_run_sh_death_by_signal_is_an_error(agent):
    error = call_error(lambda: agent.client.run_sh("kill -TERM $$"))
    assert error.code == "INTERNAL"
    assert "killed by SIGTERM" in error.message


# -- run_jrpc, run_rest -------------------------------------------------------------------------------------


def test_run_jrpc_posts_a_json_rpc_call_and_passes_any_status(agent, http_server):
    http_server.routes["/rpc"] = (201, "created", 0.0)
    request = JrpcRequest(
        host=http_server.url("/rpc"),
        method="info_get",
        params='{"chain": "x"}',
        headers=[("custom_header", "some value"), ("X-Twice", "first"), ("x-twice", "last")],
    )
    response = agent.client.run_jrpc(request)
    assert (response.status_code, response.body) == (201, "created")
    (received,) = http_server.requests
    assert received.method == "POST"
    assert json.loads(received.body) == {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "info_get",
        "params": {"chain": "x"},
    }
    assert received.headers["content-type"] == "application/json"
    assert received.headers["custom_header"] == "some value"
    assert received.headers["x-twice"] == "last"


def test_run_jrpc_without_params_sends_none(agent, http_server):
    http_server.routes["/"] = (200, "{}", 0.0)
    agent.client.run_jrpc(JrpcRequest(host=http_server.url("/"), method="health"))
    assert json.loads(http_server.requests[0].body) == {"jsonrpc": "2.0", "id": 0, "method": "health"}


def test_run_rest_gets_with_headers(agent, http_server):
    http_server.routes["/items"] = (200, "[1, 2]", 0.0)
    http_server.routes["/broken"] = (500, "oops", 0.0)
    response = agent.client.run_rest(RestRequest(url=http_server.url("/items"), headers=[("api-key", "k")]))
    assert (response.status_code, response.body) == (200, "[1, 2]")
    assert agent.client.run_rest(RestRequest(url=http_server.url("/broken"))).status_code == 500
    first = http_server.requests[0]
    assert (first.method, first.path, first.headers["api-key"]) == ("GET", "/items", "k")


def test_http_timeout_and_transport_failure_name_the_url(agent, http_server):
    http_server.routes["/slow"] = (200, "late", 2.0)
    url = http_server.url("/slow")
    error = call_error(lambda: agent.client.run_rest(RestRequest(url=url), timeout=0.3))
    assert error.code == "DEADLINE_EXCEEDED"
    assert url in error.message
    closed = "http://127.0.0.1:9/nothing"
    error = call_error(lambda: agent.client.run_jrpc(JrpcRequest(host=closed, method="m"), timeout=2))
    assert error.code == "INTERNAL"
    assert closed in error.message


# -- render_template ----------------------------------------------------------------------------------------

TEMPLATE = (
    "p1: {{ param1 }}, p2: {{ param2 }}, "
    "p3: {% if param3 is defined %}{{ param3 }}{% else %}None{% endif %}; "
    "{% for item in vec %}({{ item }}){% endfor %}"
)


def test_render_template_with_conditions_and_loops(agent):
    (agent.node_dir / "config.template").write_text(TEMPLATE)
    params = {"param1": "value1", "param2": 2, "param3": True, "vec": ["a", "bb", "ccc"]}
    agent.client.render_template("config.template", "etc/new/config.toml", json.dumps(params))
    rendered = agent.node_dir / "etc/new/config.toml"
    assert rendered.read_text() == "p1: value1, p2: 2, p3: true; (a)(bb)(ccc)"
    del params["param3"]
    agent.client.render_template("config.template", "etc/new/config.toml", json.dumps(params))
    assert rendered.read_text() == "p1: value1, p2: 2, p3: None; (a)(bb)(ccc)"


def test_render_template_errors(agent):
    (agent.node_dir / "config.template").write_text(TEMPLATE)
    error = call_error(lambda: agent.client.render_template("config.template", "out.toml", '{"param1": "v"}'))
    assert error.code == "INVALID_ARGUMENT"
    assert error.message.startswith("failed to render template file with: ")
    assert "param2" in error.message
    error = call_error(lambda: agent.client.render_template("missing.template", "out.toml", "{}"))
    assert error.code == "NOT_FOUND"
    assert "missing.template" in error.message
    assert not (agent.node_dir / "out.toml").exists()


# -- files --------------------------------------------------------------------------------------------------


def test_file_write_and_read_round_trip(agent):
    data = os.urandom(3 * 2**20 + 5)
    agent.client.file_write("data/blob.bin", data)
    assert (agent.node_dir / "data/blob.bin").read_bytes() == data
    assert agent.client.file_read("data/blob.bin") == data
    agent.client.file_write("data/blob.bin", b"")
    assert agent.client.file_read("data/blob.bin") == b""
    assert call_error(lambda: agent.client.file_read("data/missing")).code == "NOT_FOUND"


def test_paths_leaving_the_node_are_refused(agent, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    (agent.node_dir / "absolute").symlink_to(outside)
    (agent.node_dir / "relative").symlink_to("../outside.txt")
    for path in ("../outside.txt", "absolute", "relative"):
        read = call_error(lambda path=path: agent.client.file_read(path))
        write = call_error(lambda path=path: agent.client.file_write(path, b"overwritten"))
        render = call_error(lambda path=path: agent.client.render_template(path, "out", "{}"))
        assert {read.code, write.code, render.code} == {"PERMISSION_DENIED"}
        assert path in read.message
    assert outside.read_text() == "host file"


def test_file_write_without_a_destination_is_refused(agent):
    with grpc.insecure_channel(f"unix:{agent.socket}") as channel, pytest.raises(grpc.RpcError) as info:
        babel_pb2_grpc.BabelStub(channel).FileWrite(iter([pb.FileChunk(data=b"x")]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "missing file destination" in info.value.details()


# -- jobs ---------------------------------------------------------------------------------------------------


def node_env(agent) -> NodeEnv:
    data = agent.node_dir / "blockjoy"
    return NodeEnv(node_id="n1", data_mount_point=str(data), protocol_data_path=str(data / "protocol_data"))


def sleeper(secs: int = 1000) -> JobConfig:
    return JobConfig(
        job_type=JobType.run_sh(f"sleep {secs}"), restart=RestartPolicy.never(), shutdown_timeout_secs=5
    )


def test_job_rpcs_round_trip(agent):
    client = agent.client
    client.setup_babel(node_env(agent))
    client.create_job("sleeper", sleeper())
    assert client.get_jobs()["sleeper"].status == JobStatus.stopped()
    assert client.get_job_shutdown_timeout("sleeper") == 0
    client.start_job("sleeper")
    assert client.job_info("sleeper").status.kind in ("pending", "running")
    assert client.get_job_shutdown_timeout("sleeper") == 5
    assert client.get_active_jobs_shutdown_timeout() == 5
    assert client.get_babel_shutdown_timeout() == 20
    client.skip_job("sleeper")
    assert client.job_info("sleeper").status == JobStatus.finished(0, "Skipped")
    client.cleanup_job("sleeper")
    client.start_job("sleeper")
    client.stop_job("sleeper")
    assert client.job_info("sleeper").status == JobStatus.stopped()
    client.start_job("sleeper")
    client.stop_all_jobs()
    assert client.job_info("sleeper").status == JobStatus.stopped()
    assert client.protocol_data_stamp() is None
    lock = agent.node_dir / "blockjoy/.protocol_data.lock"
    lock.parent.mkdir()
    lock.touch()
    assert client.protocol_data_stamp() == lock.stat().st_mtime
    client.shutdown_babel(force=True)


def test_unknown_job_is_not_found(agent):
    agent.client.setup_babel(node_env(agent))
    for action in ("start_job", "stop_job", "skip_job", "cleanup_job", "job_info"):
        error = call_error(lambda action=action: getattr(agent.client, action)("ghost"))
        assert error.code == "NOT_FOUND", action
        assert "ghost" in error.message


@pytest.mark.parametrize(
    ("config", "place"),
    [
        ({"job_type": {"run_sh": 1}, "restart": "never"}, "job_type.run_sh: expected a string"),
        ({"job_type": {"run_sh": "x"}}, "restart: missing"),
        ({"job_type": {"run_sh": "x"}, "restart": {"always": {"backoff_timeout_ms": 1}}}, "backoff_base_ms"),
        ("not json", "not json" and "invalid config"),
    ],
)
def test_bad_job_config_is_invalid_argument_and_creates_nothing(agent, config, place):
    agent.client.setup_babel(node_env(agent))
    text = config if isinstance(config, str) else json.dumps(config)
    with grpc.insecure_channel(f"unix:{agent.socket}") as channel, pytest.raises(grpc.RpcError) as info:
        babel_pb2_grpc.BabelStub(channel).CreateJob(pb.CreateJobRequest(name="bad", config_json=text))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "config of job 'bad'" in info.value.details()
    assert place in info.value.details()
    assert agent.client.get_jobs() == {}
