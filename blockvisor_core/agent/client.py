"""The host's side of the agent's socket: one method per RPC of the `Babel` service, with Babel API types.

A failed call raises `AgentCallError` carrying the gRPC status name and the agent's message, so the
daemon can tell a missing job (NOT_FOUND) from a refused path (PERMISSION_DENIED) from a dead agent
(UNAVAILABLE).
"""

import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import grpc

from babel_api.engine import DEFAULT_TIMEOUT_SECS
from babel_api.models import HttpResponse, JobConfig, JobInfo, JrpcRequest, NodeEnv, RestRequest, ShResponse
from blockvisor_core.agent.transport import CHANNEL_OPTIONS, FILE_CHUNK_BYTES
from blockvisor_core.protos import babel_pb2 as pb
from blockvisor_core.protos import babel_pb2_grpc

#: Extra time the client gives a run_sh/run_jrpc/run_rest call over its own timeout, so that the agent's
#: clearer timeout error arrives before the client's deadline cuts the call.
DEADLINE_MARGIN_SECS = 5.0


class AgentCallError(Exception):
    """A call the agent refused or could not make; `code` is the gRPC status name (`"NOT_FOUND"`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AgentClient:
    """A connection to the agent listening on `socket_path`; use it as a context manager to close it.

    `timeout` bounds every call that has no timeout of its own (None: unbounded, as stopping a job may
    take its whole shutdown timeout).
    """

    def __init__(self, socket_path: Path, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._channel = grpc.insecure_channel(f"unix:{socket_path}", options=CHANNEL_OPTIONS)
        self._stub = babel_pb2_grpc.BabelStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "AgentClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, rpc: str, request: Any, timeout: float | None = None) -> Any:
        try:
            return getattr(self._stub, rpc)(request, timeout=timeout or self.timeout)
        except grpc.RpcError as error:
            raise _call_error(error) from None

    # -- the agent ------------------------------------------------------------------------------------------

    def get_version(self) -> str:
        return self._call("GetVersion", pb.Empty()).version

    def setup_babel(self, node_env: NodeEnv) -> None:
        """Give the agent the node's environment; it then loads the node's jobs and supervises them."""
        self._call("SetupBabel", pb.SetupBabelRequest(node_env_json=json.dumps(node_env.to_json())))

    def get_babel_shutdown_timeout(self) -> float:
        """Seconds the agent may need to shut down: the active jobs' shutdown timeouts plus a margin."""
        return self._call("GetBabelShutdownTimeout", pb.Empty()).seconds

    def shutdown_babel(self, force: bool = False) -> None:
        """Stop supervising jobs; with `force`, stop every job too."""
        self._call("ShutdownBabel", pb.ShutdownBabelRequest(force=force))

    # -- jobs -----------------------------------------------------------------------------------------------

    def create_job(self, name: str, config: JobConfig) -> None:
        request = pb.CreateJobRequest(name=name, config_json=json.dumps(config.to_json()))
        self._call("CreateJob", request)

    def start_job(self, name: str) -> None:
        self._call("StartJob", pb.JobName(name=name))

    def stop_job(self, name: str) -> None:
        self._call("StopJob", pb.JobName(name=name))

    def skip_job(self, name: str) -> None:
        self._call("SkipJob", pb.JobName(name=name))

    def cleanup_job(self, name: str) -> None:
        self._call("CleanupJob", pb.JobName(name=name))

    def stop_all_jobs(self) -> None:
        self._call("StopAllJobs", pb.Empty())

    def job_info(self, name: str) -> JobInfo:
        return JobInfo.from_json(json.loads(self._call("JobInfo", pb.JobName(name=name)).info_json))

    def get_jobs(self) -> dict[str, JobInfo]:
        reply = self._call("GetJobs", pb.Empty())
        return {name: JobInfo.from_json(json.loads(text)) for name, text in reply.info_json.items()}

    def get_job_shutdown_timeout(self, name: str) -> float:
        return self._call("GetJobShutdownTimeout", pb.JobName(name=name)).seconds

    def get_active_jobs_shutdown_timeout(self) -> float:
        return self._call("GetActiveJobsShutdownTimeout", pb.Empty()).seconds

    def protocol_data_stamp(self) -> float | None:
        """When protocol data were last initialised (Unix time), or None if never."""
        reply = self._call("ProtocolDataStamp", pb.Empty())
        return reply.unix_time if reply.present else None

    # -- commands and HTTP inside the node ------------------------------------------------------------------

    def run_sh(self, body: str, timeout: float | None = None) -> ShResponse:
        """Run `body` with the node's shell; `timeout` None: the default of 15 s."""
        reply = self._call("RunSh", pb.RunShRequest(body=body, timeout_secs=timeout or 0), _deadline(timeout))
        return ShResponse(reply.exit_code, reply.stdout, reply.stderr)

    def run_jrpc(self, request: JrpcRequest, timeout: float | None = None) -> HttpResponse:
        message = pb.RunJrpcRequest(request_json=json.dumps(request.to_json()), timeout_secs=timeout or 0)
        reply = self._call("RunJrpc", message, _deadline(timeout))
        return HttpResponse(reply.status_code, reply.body)

    def run_rest(self, request: RestRequest, timeout: float | None = None) -> HttpResponse:
        message = pb.RunRestRequest(request_json=json.dumps(request.to_json()), timeout_secs=timeout or 0)
        reply = self._call("RunRest", message, _deadline(timeout))
        return HttpResponse(reply.status_code, reply.body)

    # -- files inside the node ------------------------------------------------------------------------------

    def render_template(
        self, template: str | PurePosixPath, destination: str | PurePosixPath, params_json: str
    ) -> None:
        request = pb.RenderTemplateRequest(
            template=str(template), destination=str(destination), params_json=params_json
        )
        self._call("RenderTemplate", request)

    def file_write(self, path: str | PurePosixPath, data: bytes) -> None:
        self._call("FileWrite", _file_chunks(str(path), data))

    def file_read(self, path: str | PurePosixPath) -> bytes:
        try:
            return b"".join(
                chunk.data for chunk in self._stub.FileRead(pb.FilePath(path=str(path)), timeout=self.timeout)
            )
        except grpc.RpcError as error:
            raise _call_error(error) from None


def _deadline(timeout: float | None) -> float:
    return (timeout or DEFAULT_TIMEOUT_SECS) + DEADLINE_MARGIN_SECS


def _file_chunks(path: str, data: bytes) -> Iterator[pb.FileChunk]:
    yield pb.FileChunk(path=path, data=data[:FILE_CHUNK_BYTES])
    for start in range(FILE_CHUNK_BYTES, len(data), FILE_CHUNK_BYTES):
        yield pb.FileChunk(data=data[start : start + FILE_CHUNK_BYTES])


def _call_error(error: grpc.RpcError) -> AgentCallError:
    code = error.code()  # type: ignore[attr-defined]
    return AgentCallError(code.name, error.details() or "")  # type: ignore[attr-defined]
