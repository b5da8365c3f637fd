"""`bv`'s side of the daemon's socket: one method per RPC of the `Blockvisor` service (blockvisor.proto).

Every failure becomes a `DaemonError` whose text is the one line an operator reads: the daemon's own
message for a refused call (`Node `foo` not found`), or, when nothing listens on the socket, how to
start the daemon. Nodes are named by id or by name; the daemon resolves names.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from blockvisor_core.cli.errors import CliError
from blockvisor_core.protos import blockvisor_pb2 as pb
from blockvisor_core.protos import blockvisor_pb2_grpc

if TYPE_CHECKING:
    from babel_api.models import JobInfo

#: Seconds a question (Info, GetNode, ...) may take; calls that change something wait as long as the
#: daemon works on them (starting a node runs its plugin's init).
QUERY_TIMEOUT_SECS = 30.0


class DaemonError(CliError):
    """A call that failed; `code` is the gRPC status name (`"NOT_FOUND"`), the text the daemon's message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DaemonNotRunning(DaemonError):
    """Nothing listens on the daemon's socket."""

    def __init__(self, message: str) -> None:
        super().__init__("UNAVAILABLE", message)


class DaemonClient:
    """A connection to the daemon listening on `socket_path`; use it as a context manager to close it.

    Creating one checks that something listens on the socket, so that a daemon that is not running is
    reported at once and plainly instead of as a gRPC connection failure.
    """

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        _check_listening(socket_path)
        self._channel = grpc.insecure_channel(f"unix:{socket_path}")
        self._stub = blockvisor_pb2_grpc.BlockvisorStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, rpc: str, request: Any, timeout: float | None = QUERY_TIMEOUT_SECS) -> Any:
        try:
            return getattr(self._stub, rpc)(request, timeout=timeout)
        except grpc.RpcError as error:
            raise self._call_error(rpc, error) from None

    def _call_error(self, rpc: str, error: grpc.RpcError) -> DaemonError:
        code = error.code()  # type: ignore[attr-defined]
        details = error.details() or ""  # type: ignore[attr-defined]
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return DaemonError(code.name, f"blockvisord did not answer {rpc} within {QUERY_TIMEOUT_SECS:g} s")
        if code == grpc.StatusCode.UNAVAILABLE and "failed to connect" in details:
            # It went away between the check in __init__ and this call.
            return DaemonNotRunning(_not_running(self.socket_path, "nothing answers"))
        return DaemonError(code.name, " ".join(details.split()) or code.name)

    # -- the daemon -----------------------------------------------------------------------------------------

    def info(self) -> pb.InfoReply:
        return self._call("Info", pb.Empty())

    def get_host_metrics(self) -> pb.HostMetrics:
        return self._call("GetHostMetrics", pb.Empty())

    # -- nodes ----------------------------------------------------------------------------------------------

    def create_node(
        self, image: str, properties: dict[str, str], name: str, tags: list[str], runtime: str
    ) -> pb.Node:
        request = pb.CreateNodeRequest(
            image=image, properties=properties, name=name, tags=tags, runtime=runtime
        )
        return self._call("CreateNode", request, timeout=None)

    def get_node(self, id_or_name: str) -> pb.Node:
        return self._call("GetNode", pb.NodeRef(id_or_name=id_or_name))

    def get_nodes(self) -> list[pb.Node]:
        return list(self._call("GetNodes", pb.Empty()).nodes)

    def start_node(self, id_or_name: str) -> pb.Node:
        return self._call("StartNode", pb.NodeRef(id_or_name=id_or_name), timeout=None)

    def stop_node(self, id_or_name: str, force: bool = False) -> pb.Node:
        return self._call("StopNode", pb.StopNodeRequest(id_or_name=id_or_name, force=force), timeout=None)

    def restart_node(self, id_or_name: str, force: bool = False) -> pb.Node:
        request = pb.StopNodeRequest(id_or_name=id_or_name, force=force)
        return self._call("RestartNode", request, timeout=None)

    def upgrade_node(self, id_or_name: str, image: str) -> pb.Node:
        request = pb.UpgradeNodeRequest(id_or_name=id_or_name, image=image)
        return self._call("UpgradeNode", request, timeout=None)

    def delete_node(self, id_or_name: str) -> None:
        self._call("DeleteNode", pb.NodeRef(id_or_name=id_or_name), timeout=None)

    def reload_plugin(self, id_or_name: str) -> None:
        self._call("ReloadPlugin", pb.NodeRef(id_or_name=id_or_name), timeout=None)

    # -- the node's protocol plugin -------------------------------------------------------------------------

    def list_capabilities(self, id_or_name: str) -> list[str]:
        return list(self._call("ListCapabilities", pb.NodeRef(id_or_name=id_or_name)).names)

    def run(self, id_or_name: str, method: str, param: str) -> str:
        request = pb.RunRequest(id_or_name=id_or_name, method=method, param=param)
        return self._call("Run", request, timeout=None).result

    def get_node_metrics(self, id_or_name: str) -> pb.NodeMetrics:
        return self._call("GetNodeMetrics", pb.NodeRef(id_or_name=id_or_name))

    # -- the node's jobs ------------------------------------------------------------------------------------

    def get_node_jobs(self, id_or_name: str) -> dict[str, JobInfo]:
        reply = self._call("GetNodeJobs", pb.NodeRef(id_or_name=id_or_name))
        return {name: _job_info(text) for name, text in sorted(reply.info_json.items())}

    def get_node_job_info(self, id_or_name: str, job: str) -> JobInfo:
        return _job_info(
            self._call("GetNodeJobInfo", pb.NodeJobRef(id_or_name=id_or_name, job=job)).info_json
        )

    def start_node_job(self, id_or_name: str, job: str) -> None:
        self._call("StartNodeJob", pb.NodeJobRef(id_or_name=id_or_name, job=job), timeout=None)

    def stop_node_job(self, id_or_name: str, job: str) -> None:
        self._call("StopNodeJob", pb.NodeJobRef(id_or_name=id_or_name, job=job), timeout=None)

    def skip_node_job(self, id_or_name: str, job: str) -> None:
        self._call("SkipNodeJob", pb.NodeJobRef(id_or_name=id_or_name, job=job), timeout=None)

    def cleanup_node_job(self, id_or_name: str, job: str) -> None:
        self._call("CleanupNodeJob", pb.NodeJobRef(id_or_name=id_or_name, job=job), timeout=None)


def _job_info(text: str) -> JobInfo:
    # Imported here: the job models are needed by the job commands only, and `bv` starts faster without.
    from babel_api.models import JobInfo
    from babel_api.shapes import ShapeError

    try:
        return JobInfo.from_json(json.loads(text))
    except (ValueError, ShapeError) as error:
        raise DaemonError("INTERNAL", f"blockvisord sent a job info that does not parse: {error}") from None


def _check_listening(socket_path: Path) -> None:
    """Raise `DaemonNotRunning` unless something accepts connections on `socket_path`."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(socket_path))
    except FileNotFoundError:
        raise DaemonNotRunning(_not_running(socket_path, "no socket")) from None
    except ConnectionRefusedError:
        raise DaemonNotRunning(_not_running(socket_path, "nothing answers")) from None
    except PermissionError:
        raise DaemonError("PERMISSION_DENIED", f"not allowed to connect to {socket_path}") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise DaemonError("UNAVAILABLE", f"cannot connect to {socket_path}: {reason}") from None
    finally:
        probe.close()


def _not_running(socket_path: Path, reason: str) -> str:
    return f"blockvisord is not running ({reason} at {socket_path}); start it with `bv start`"
