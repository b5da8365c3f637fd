"""A test double of `blockvisord`: the `Blockvisor` gRPC service on the root's Unix socket, with canned nodes
and jobs, recording every call it gets.

`bv` is tested against it until the real daemon's end-to-end tests exist. Imported, it serves from a
thread of the test process (`serve`); run as a script (`python fake_daemon.py [--pid-file] [--fail]`),
it is a daemon process of its own for `bv start` and `bv stop`: it serves `BV_ROOT`'s socket until
SIGTERM, and with `--pid-file` writes `VAR/blockvisord.pid`; with `--fail` it logs why it cannot start
to `<logs>/blockvisord.log` and exits with 1, with `--crash` it exits with 3 at once.
"""

import json
import os
import signal
import sys
import threading
import time
import uuid
from concurrent import futures
from pathlib import Path

import grpc

from babel_api.models import JobInfo, JobProgress, JobStatus, Timestamp
from blockvisor_core.paths import Paths
from blockvisor_core.protos import blockvisor_pb2 as pb
from blockvisor_core.protos import blockvisor_pb2_grpc

ETH_ID = "3f1c9a52-6a0e-4c1e-9d7a-1b2c3d4e5f60"
NEAR_ID = "b21d0c3e-7f8a-4b9c-8d0e-1f2a3b4c5d6e"

#: The images CreateNode and UpgradeNode know.
IMAGES = ("ethereum/reth-mainnet", "ethereum/reth-mainnet/1.3.0")

STAMP = Timestamp(1_700_000_000, 0)  # 2023-11-14 22:13:20 UTC


def canned_nodes(now: float) -> list[pb.Node]:
    return [
        pb.Node(
            id=ETH_ID,
            name="eth-1",
            protocol="ethereum",
            variant="reth-mainnet",
            version="1.2.0",
            status="running",
            expected_status="running",
            ip="10.0.0.2",
            gateway="10.0.0.1",
            started_at=now - 90061,  # 1 day, 1 hour, 1 minute and 1 second ago
            runtime="process",
            properties={"network": "mainnet"},
            tags=["prod", "eth"],
            image_path="/images/ethereum/reth-mainnet/1.2.0",
            cpus=2,
            memory_mb=2048,
            disk_gb=100,
        ),
        pb.Node(
            id=NEAR_ID,
            name="near-1",
            protocol="near",
            variant="mainnet",
            version="0.9.0",
            status="stopped",
            expected_status="stopped",
            runtime="process",
            tags=["test"],
            cpus=1,
            memory_mb=1024,
            disk_gb=10,
        ),
    ]


def canned_jobs() -> dict[str, JobInfo]:
    return {
        "download": JobInfo(
            status=JobStatus.finished(0),
            timestamp=STAMP,
            progress=JobProgress(10, 10, "chunks", 5_000_000_000, 5_000_000_000, 80_000_000.0),
        ),
        "node": JobInfo(
            status=JobStatus.running(),
            timestamp=STAMP,
            restart_count=2,
            logs=["line 5", "line 4", "line 3", "line 2", "line 1"],
        ),
    }


class FakeDaemon(blockvisor_pb2_grpc.BlockvisorServicer):
    """The canned state: `nodes` by id, `jobs` of the eth node, `job_infos` (a sequence of infos a job
    reports, one per GetNodeJobInfo call, the last one for good); `calls` lists (rpc, request)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes = {node.id: node for node in canned_nodes(time.time())}
        self.jobs = canned_jobs()
        self.job_infos: dict[str, list[JobInfo]] = {}
        self.calls: list[tuple[str, object]] = []
        self._lock = threading.Lock()

    def called(self, rpc: str) -> list:
        """The requests of every call of `rpc`."""
        return [request for name, request in self.calls if name == rpc]

    def _record(self, rpc: str, request: object) -> None:
        with self._lock:
            self.calls.append((rpc, request))

    def _node(self, id_or_name: str, context: grpc.ServicerContext) -> pb.Node:
        for node in self.nodes.values():
            if id_or_name in (node.id, node.name):
                return node
        context.abort(grpc.StatusCode.NOT_FOUND, f"Node `{id_or_name}` not found")
        raise AssertionError("unreachable")

    def _job(self, request: pb.NodeJobRef, context: grpc.ServicerContext) -> JobInfo:
        self._node(request.id_or_name, context)
        if request.job in self.job_infos:
            script = self.job_infos[request.job]
            return script.pop(0) if len(script) > 1 else script[0]
        if request.job not in self.jobs:
            context.abort(grpc.StatusCode.NOT_FOUND, f"job `{request.job}` not found")
        return self.jobs[request.job]

    def Info(self, request, context):
        self._record("Info", request)
        return pb.InfoReply(version="0.1.0", root=str(self.root), runtime="process", status="ok")

    def GetHostMetrics(self, request, context):
        self._record("GetHostMetrics", request)
        return pb.HostMetrics(
            used_cpu_percent=12.5,
            used_memory_bytes=2_000_000_000,
            total_memory_bytes=8_000_000_000,
            used_disk_bytes=50_000_000_000,
            total_disk_bytes=500_000_000_000,
            load_1=0.5,
            load_5=0.25,
            load_15=0.125,
            network_received_bytes=3_000_000_000,
            network_sent_bytes=1_000_000_000,
            uptime_secs=3661,
            used_ips=["10.0.0.2"],
        )

    def CreateNode(self, request, context):
        self._record("CreateNode", request)
        if request.image not in IMAGES and not Path(request.image).is_dir():
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"image `{request.image}` not found in the image folders"
            )
        protocol, variant, *version = request.image.split("/")
        node = pb.Node(
            id=str(uuid.uuid4()),
            name=request.name or "generated-name",
            protocol=protocol,
            variant=variant,
            version=version[0] if version else "1.2.0",
            status="stopped",
            expected_status="stopped",
            runtime=request.runtime or "process",
            properties=request.properties,
            tags=request.tags,
        )
        self.nodes[node.id] = node
        return node

    def GetNode(self, request, context):
        self._record("GetNode", request)
        return self._node(request.id_or_name, context)

    def GetNodes(self, request, context):
        self._record("GetNodes", request)
        return pb.NodeList(nodes=list(self.nodes.values()))

    def StartNode(self, request, context):
        self._record("StartNode", request)
        node = self._node(request.id_or_name, context)
        node.status = "running"
        return node

    def StopNode(self, request, context):
        self._record("StopNode", request)
        node = self._node(request.id_or_name, context)
        node.status = "stopped"
        return node

    def RestartNode(self, request, context):
        self._record("RestartNode", request)
        return self._node(request.id_or_name, context)

    def UpgradeNode(self, request, context):
        self._record("UpgradeNode", request)
        node = self._node(request.id_or_name, context)
        if request.image not in IMAGES:
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"image `{request.image}` not found in the image folders"
            )
        return node

    def DeleteNode(self, request, context):
        self._record("DeleteNode", request)
        del self.nodes[self._node(request.id_or_name, context).id]
        return pb.Empty()

    def ReloadPlugin(self, request, context):
        self._record("ReloadPlugin", request)
        self._node(request.id_or_name, context)
        return pb.Empty()

    def ListCapabilities(self, request, context):
        self._record("ListCapabilities", request)
        self._node(request.id_or_name, context)
        return pb.Capabilities(names=["height", "name"])

    def Run(self, request, context):
        self._record("Run", request)
        self._node(request.id_or_name, context)
        if request.method not in ("height", "name"):
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"protocol method `{request.method}` not found; it has: height, name",
            )
        return pb.RunReply(result=f"{request.method}({request.param})")

    def GetNodeMetrics(self, request, context):
        self._record("GetNodeMetrics", request)
        node = self._node(request.id_or_name, context)
        if node.status != "running":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"node `{node.name}` is not running")
        return pb.NodeMetrics(height=123, consensus=True, jailed=False)

    def GetNodeJobs(self, request, context):
        self._record("GetNodeJobs", request)
        node = self._node(request.id_or_name, context)
        if node.status != "running":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"node `{node.name}` is not running")
        return pb.JobsReply(info_json={name: json.dumps(info.to_json()) for name, info in self.jobs.items()})

    def GetNodeJobInfo(self, request, context):
        self._record("GetNodeJobInfo", request)
        return pb.JobInfoReply(info_json=json.dumps(self._job(request, context).to_json()))

    def StartNodeJob(self, request, context):
        self._record("StartNodeJob", request)
        self._job(request, context)
        return pb.Empty()

    def StopNodeJob(self, request, context):
        self._record("StopNodeJob", request)
        self._job(request, context)
        return pb.Empty()

    def SkipNodeJob(self, request, context):
        self._record("SkipNodeJob", request)
        self._job(request, context)
        return pb.Empty()

    def CleanupNodeJob(self, request, context):
        self._record("CleanupNodeJob", request)
        self._job(request, context)
        return pb.Empty()


def serve(paths: Paths, daemon: FakeDaemon) -> grpc.Server:
    """Serve `daemon` on the socket of `paths`; stop it with `server.stop(None)`."""
    paths.socket.parent.mkdir(parents=True, exist_ok=True)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    blockvisor_pb2_grpc.add_BlockvisorServicer_to_server(daemon, server)
    server.add_insecure_port(f"unix:{paths.socket}")
    server.start()
    return server


def main(arguments: list[str]) -> None:
    paths = Paths.from_env()
    if "--crash" in arguments:
        sys.exit(3)
    if "--fail" in arguments:
        paths.logs.mkdir(parents=True, exist_ok=True)
        with (paths.logs / "blockvisord.log").open("a") as log:
            log.write("ERROR | blockvisord cannot start: config broken: no such runtime `qemu`\n\n")
        sys.exit(1)
    server = serve(paths, FakeDaemon(paths.root))
    if "--pid-file" in arguments:
        (paths.var / "blockvisord.pid").write_text(str(os.getpid()))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    while not stopped.wait(0.1):
        pass
    server.stop(None)
    paths.socket.unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1:])
