"""The agent's gRPC service (`Babel` of babel.proto) and the process that serves it for one node.

Each RPC maps to the jobs manager or to `node_ops`. Babel API data types arrive and leave as their
canonical JSON. Failures become gRPC statuses whose details are the error's message: `NotFound`,
`InvalidArgument` and `FailedPrecondition` keep their names, a path leaving the node is
PERMISSION_DENIED, a passed deadline DEADLINE_EXCEEDED, anything else INTERNAL.
"""

import contextlib
import functools
import importlib.metadata
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from babel_api.engine import DEFAULT_TIMEOUT_SECS
from babel_api.models import JobConfig, JrpcRequest, NodeEnv, RestRequest
from blockvisor_core.agent import node_ops
from blockvisor_core.agent.errors import AgentError, FailedPrecondition, InvalidArgument, NotFound
from blockvisor_core.agent.jobs import JobsManager
from blockvisor_core.agent.transport import CHANNEL_OPTIONS, FILE_CHUNK_BYTES, SOCKET_NAME
from blockvisor_core.node_access import NodeAccess, OutsideNodeError
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.protos import babel_pb2 as pb
from blockvisor_core.protos import babel_pb2_grpc
from blockvisor_core.sockets import answers

log = logging.getLogger(__name__)

#: Added to the jobs' shutdown timeouts: the time the agent itself needs to wind down (spec §1.4).
BABEL_SHUTDOWN_MARGIN_SECS = 15.0

#: How long calls in progress may finish once the agent is told to stop.
STOP_GRACE_SECS = 5.0

_RPC_THREADS = 16

_STATUS_CODES: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (OutsideNodeError, grpc.StatusCode.PERMISSION_DENIED),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
]


def status_code(error: BaseException) -> grpc.StatusCode:
    """The gRPC status that reports `error` to the host."""
    for kind, code in _STATUS_CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def _reported(method: Callable) -> Callable:
    """Turn an exception raised by an RPC handler into the gRPC status of its kind, message as details."""

    @functools.wraps(method)
    def handler(self: "BabelServicer", request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Exception as error:
            code = status_code(error)
            if code == grpc.StatusCode.INTERNAL and not isinstance(error, AgentError):
                log.exception("%s failed unexpectedly", method.__name__)
            context.abort(code, str(error) or type(error).__name__)

    return handler


def _parse(shape: Any, text: str, what: str) -> Any:
    """A Babel API value from its JSON text; anything malformed is `InvalidArgument` naming the field."""
    try:
        return shape.from_json(json.loads(text))
    except ValueError as error:
        raise InvalidArgument(f"invalid {what}: {error}") from None


def _timeout(requested: float, context: grpc.ServicerContext) -> float:
    """The deadline of a command or HTTP call: as requested (0: the default), and never past the caller's."""
    if requested < 0:
        raise InvalidArgument(f"timeout must not be negative, got {requested:g} s")
    return min(requested or DEFAULT_TIMEOUT_SECS, context.time_remaining())


class BabelServicer(babel_pb2_grpc.BabelServicer):
    """Every RPC of the `Babel` service for one node.

    `stop_supervising` is called when the host shuts the agent down (ShutdownBabel), so that no job is
    started or restarted afterwards.
    """

    def __init__(self, access: NodeAccess, jobs: JobsManager, stop_supervising: Callable[[], None]) -> None:
        self.access = access
        self.jobs = jobs
        self.stop_supervising = stop_supervising

    # -- the agent ------------------------------------------------------------------------------------------

    @_reported
    def GetVersion(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.Version:
        return pb.Version(version=importlib.metadata.version("blockvisor"))

    @_reported
    def SetupBabel(self, request: pb.SetupBabelRequest, context: grpc.ServicerContext) -> pb.Empty:
        self.jobs.setup(_parse(NodeEnv, request.node_env_json, "node env"))
        return pb.Empty()

    @_reported
    def GetBabelShutdownTimeout(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.Duration:
        return pb.Duration(seconds=self.jobs.active_jobs_shutdown_timeout() + BABEL_SHUTDOWN_MARGIN_SECS)

    @_reported
    def ShutdownBabel(self, request: pb.ShutdownBabelRequest, context: grpc.ServicerContext) -> pb.Empty:
        self.stop_supervising()
        self.jobs.shutdown(request.force)
        return pb.Empty()

    # -- jobs -----------------------------------------------------------------------------------------------

    @_reported
    def CreateJob(self, request: pb.CreateJobRequest, context: grpc.ServicerContext) -> pb.Empty:
        config = _parse(JobConfig, request.config_json, f"config of job '{request.name}'")
        self.jobs.create(request.name, config)
        return pb.Empty()

    @_reported
    def StartJob(self, request: pb.JobName, context: grpc.ServicerContext) -> pb.Empty:
        self.jobs.start(request.name)
        return pb.Empty()

    @_reported
    def StopJob(self, request: pb.JobName, context: grpc.ServicerContext) -> pb.Empty:
        self.jobs.stop(request.name)
        return pb.Empty()

    @_reported
    def SkipJob(self, request: pb.JobName, context: grpc.ServicerContext) -> pb.Empty:
        self.jobs.skip(request.name)
        return pb.Empty()

    @_reported
    def CleanupJob(self, request: pb.JobName, context: grpc.ServicerContext) -> pb.Empty:
        self.jobs.cleanup(request.name)
        return pb.Empty()

    @_reported
    def StopAllJobs(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.Empty:
        self.jobs.stop_all()
        return pb.Empty()

    @_reported
    def JobInfo(self, request: pb.JobName, context: grpc.ServicerContext) -> pb.JobInfoReply:
        return pb.JobInfoReply(info_json=json.dumps(self.jobs.info(request.name).to_json()))

    @_reported
    def GetJobs(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.JobsReply:
        infos = {name: json.dumps(info.to_json()) for name, info in self.jobs.jobs().items()}
        return pb.JobsReply(info_json=infos)

    @_reported
    def GetJobShutdownTimeout(self, request: pb.JobName, context: grpc.ServicerContext) -> pb.Duration:
        return pb.Duration(seconds=self.jobs.job_shutdown_timeout(request.name))

    @_reported
    def GetActiveJobsShutdownTimeout(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.Duration:
        return pb.Duration(seconds=self.jobs.active_jobs_shutdown_timeout())

    @_reported
    def ProtocolDataStamp(
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> pb.ProtocolDataStampReply:
        stamp = self.jobs.protocol_data_stamp()
        if stamp is None:
            return pb.ProtocolDataStampReply(present=False)
        return pb.ProtocolDataStampReply(present=True, unix_time=stamp)

    # -- commands and HTTP inside the node ------------------------------------------------------------------

    @_reported
    def RunSh(self, request: pb.RunShRequest, context: grpc.ServicerContext) -> pb.ShResponse:
        response = node_ops.run_sh(self.access, request.body, _timeout(request.timeout_secs, context))
        return pb.ShResponse(exit_code=response.exit_code, stdout=response.stdout, stderr=response.stderr)

    @_reported
    def RunJrpc(self, request: pb.RunJrpcRequest, context: grpc.ServicerContext) -> pb.HttpResponse:
        jrpc = _parse(JrpcRequest, request.request_json, "run_jrpc request")
        response = node_ops.run_jrpc(self.access, jrpc, _timeout(request.timeout_secs, context))
        return pb.HttpResponse(status_code=response.status_code, body=response.body)

    @_reported
    def RunRest(self, request: pb.RunRestRequest, context: grpc.ServicerContext) -> pb.HttpResponse:
        rest = _parse(RestRequest, request.request_json, "run_rest request")
        response = node_ops.run_rest(self.access, rest, _timeout(request.timeout_secs, context))
        return pb.HttpResponse(status_code=response.status_code, body=response.body)

    # -- files inside the node ------------------------------------------------------------------------------

    @_reported
    def RenderTemplate(self, request: pb.RenderTemplateRequest, context: grpc.ServicerContext) -> pb.Empty:
        node_ops.render_template(self.access, request.template, request.destination, request.params_json)
        return pb.Empty()

    @_reported
    def FileWrite(self, request_iterator: Iterator[pb.FileChunk], context: grpc.ServicerContext) -> pb.Empty:
        first = next(request_iterator, None)
        if first is None or not first.path:
            raise InvalidArgument("file_write: missing file destination (the first chunk names the path)")
        data = bytearray(first.data)
        for chunk in request_iterator:
            data += chunk.data
        node_ops.file_write(self.access, first.path, bytes(data))
        return pb.Empty()

    @_reported
    def FileRead(self, request: pb.FilePath, context: grpc.ServicerContext) -> Iterator[pb.FileChunk]:
        # Read before streaming, so that a refused or missing file is a status, not a broken stream.
        data = node_ops.file_read(self.access, request.path)
        return (
            pb.FileChunk(data=data[start : start + FILE_CHUNK_BYTES])
            for start in range(0, len(data), FILE_CHUNK_BYTES)
        )


def start_server(socket_path: Path, servicer: BabelServicer) -> grpc.Server:
    """Serve `servicer` on the Unix socket `socket_path`, readable and writable by the agent's user only.

    A file already at `socket_path` (left by an agent that died) is replaced.
    """
    socket_path.unlink(missing_ok=True)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=_RPC_THREADS, thread_name_prefix="babel-rpc"),
        options=CHANNEL_OPTIONS,
    )
    babel_pb2_grpc.add_BabelServicer_to_server(servicer, server)
    # The socket is created with the umask's mode; a strict umask leaves no moment when others may connect.
    umask = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{socket_path}")
    finally:
        os.umask(umask)
    os.chmod(socket_path, 0o600)
    server.start()
    return server


def serve(node_dir: Path, runtime: str) -> None:
    """Run the agent of the node in `node_dir`, whose runtime is `runtime`, until SIGTERM, SIGINT or SIGHUP.

    Serves `node_dir/babel.socket` and supervises the node's jobs. On a signal it stops taking calls and
    stops supervising, and leaves the jobs running: the next agent over the same folder adopts them.
    Refuses to start while another agent answers on the node's socket, as two would fight over the jobs.
    """
    socket_path = node_dir / SOCKET_NAME
    if answers(socket_path):
        raise AgentError(f"another agent already serves {socket_path}")
    access = plugin_manager().hook.runtime_node_access(runtime=runtime, node_dir=node_dir)
    if access is None:
        raise AgentError(f"unknown runtime {runtime!r}: no installed plugin provides it")
    jobs = JobsManager(node_dir, runtime, access)
    supervising_stopped = threading.Event()
    agent_stopped = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda *_: agent_stopped.set())

    def supervise() -> None:
        try:
            jobs.supervise(supervising_stopped)
        except Exception:
            # An agent that no longer supervises must not look healthy: stop it, so the host restarts it.
            log.exception("job supervision failed; stopping the agent")
            agent_stopped.set()

    server = start_server(socket_path, BabelServicer(access, jobs, supervising_stopped.set))
    supervisor = threading.Thread(target=supervise, name="supervise")
    supervisor.start()
    log.info("agent of %s (runtime %s) serving on %s", node_dir, runtime, socket_path)
    try:
        agent_stopped.wait()
    finally:
        server.stop(STOP_GRACE_SECS).wait()
        supervising_stopped.set()
        supervisor.join()
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
    log.info("agent of %s stopped; its jobs keep running", node_dir)
