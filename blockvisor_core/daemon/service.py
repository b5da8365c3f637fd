"""The daemon's internal service (`Blockvisor` of blockvisor.proto), served to `bv` on a Unix socket.

Each RPC runs its nodes-manager call on a worker thread, so a slow node (a start running its plugin's
init) never holds up the event loop or another node. Failures become one status each, with the one line
an operator reads as details: NOT_FOUND (unknown node, image, job or plugin method), INVALID_ARGUMENT
(bad properties, bad image), FAILED_PRECONDITION (a node in the wrong state), INTERNAL (anything else,
the plugin's own failures included; an unexpected one is logged with its traceback).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import grpc
from loguru import logger

from blockvisor_core.daemon.host_metrics import host_metrics
from blockvisor_core.nodes.errors import InvalidRequest, NodeError, NotFound, WrongState
from blockvisor_core.nodes.manager import CreateRequest, NodesManager, NodeView
from blockvisor_core.protos import blockvisor_pb2 as pb
from blockvisor_core.protos import blockvisor_pb2_grpc

T = TypeVar("T")

_CODES: list[tuple[type[Exception], grpc.StatusCode]] = [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (WrongState, grpc.StatusCode.FAILED_PRECONDITION),
    (NodeError, grpc.StatusCode.INTERNAL),
]


def node_message(view: NodeView) -> pb.Node:
    """A node as `bv` sees it; a broken node is only its id and status `failed`."""
    state = view.state
    if state is None:
        return pb.Node(id=view.id, status=view.status.value)
    return pb.Node(
        id=state.id,
        name=state.name,
        protocol=state.image.protocol,
        variant=state.image.variant,
        version=state.image.version,
        status=view.status.value,
        expected_status=state.expected_status.value,
        ip=state.ip,
        gateway=state.gateway,
        started_at=state.started_at or 0.0,
        runtime=state.runtime,
        properties=state.properties,
        tags=state.tags,
        image_path=state.image.folder,
        cpus=state.cpus,
        memory_mb=state.memory_mb,
        disk_gb=state.disk_gb,
    )


class BlockvisorService(blockvisor_pb2_grpc.BlockvisorServicer):
    """Every RPC of the internal service, over `manager`, with node work on `executor`."""

    def __init__(self, manager: NodesManager, executor: Executor) -> None:
        self.manager = manager
        self.executor = executor

    async def _run(self, context: grpc.aio.ServicerContext, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` on a worker thread; a failure ends the RPC with its status."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, call, *args)
        except Exception as error:
            code = next((code for kind, code in _CODES if isinstance(error, kind)), None)
            if code is None:
                logger.exception("{} failed unexpectedly", getattr(call, "__name__", call))
                code = grpc.StatusCode.INTERNAL
            await context.abort(code, str(error) or type(error).__name__)
        raise AssertionError("context.abort returns only by raising")

    # -- the daemon ------------------------------------------------------------------------------------------

    async def Info(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.InfoReply:
        return pb.InfoReply(
            version=importlib.metadata.version("blockvisor"),
            root=str(self.manager.paths.root),
            runtime=self.manager.default_runtime,
            status="ok",
        )

    async def GetHostMetrics(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.HostMetrics:
        return await self._run(context, lambda: host_metrics(self.manager.paths.var, self.manager.used_ips()))

    # -- nodes -----------------------------------------------------------------------------------------------

    async def CreateNode(self, request: pb.CreateNodeRequest, context: grpc.aio.ServicerContext) -> pb.Node:
        create = CreateRequest(
            image=request.image,
            properties=dict(request.properties),
            name=request.name,
            tags=list(request.tags),
            runtime=request.runtime,
        )
        return node_message(await self._run(context, self.manager.create, create))

    async def GetNode(self, request: pb.NodeRef, context: grpc.aio.ServicerContext) -> pb.Node:
        return node_message(await self._run(context, self.manager.view, request.id_or_name))

    async def GetNodes(self, request: pb.Empty, context: grpc.aio.ServicerContext) -> pb.NodeList:
        views = await self._run(context, self.manager.views)
        return pb.NodeList(nodes=[node_message(view) for view in views])

    async def StartNode(self, request: pb.NodeRef, context: grpc.aio.ServicerContext) -> pb.Node:
        return node_message(await self._run(context, self.manager.start, request.id_or_name))

    async def StopNode(self, request: pb.StopNodeRequest, context: grpc.aio.ServicerContext) -> pb.Node:
        return node_message(await self._run(context, self.manager.stop, request.id_or_name, request.force))

    async def RestartNode(self, request: pb.StopNodeRequest, context: grpc.aio.ServicerContext) -> pb.Node:
        return node_message(await self._run(context, self.manager.restart, request.id_or_name, request.force))

    async def UpgradeNode(self, request: pb.UpgradeNodeRequest, context: grpc.aio.ServicerContext) -> pb.Node:
        return node_message(await self._run(context, self.manager.upgrade, request.id_or_name, request.image))

    async def DeleteNode(self, request: pb.NodeRef, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._run(context, self.manager.delete, request.id_or_name)
        return pb.Empty()

    async def ReloadPlugin(self, request: pb.NodeRef, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._run(context, self.manager.reload_plugin, request.id_or_name)
        return pb.Empty()

    # -- the node's protocol plugin --------------------------------------------------------------------------

    async def ListCapabilities(
        self, request: pb.NodeRef, context: grpc.aio.ServicerContext
    ) -> pb.Capabilities:
        return pb.Capabilities(names=await self._run(context, self.manager.capabilities, request.id_or_name))

    async def Run(self, request: pb.RunRequest, context: grpc.aio.ServicerContext) -> pb.RunReply:
        result = await self._run(
            context, self.manager.call_method, request.id_or_name, request.method, request.param
        )
        return pb.RunReply(result=result)

    async def GetNodeMetrics(self, request: pb.NodeRef, context: grpc.aio.ServicerContext) -> pb.NodeMetrics:
        metrics = await self._run(context, self.manager.metrics, request.id_or_name)
        status = metrics.protocol_status
        return pb.NodeMetrics(
            height=metrics.height,
            block_age=metrics.block_age,
            consensus=metrics.consensus,
            apr=metrics.apr,
            jailed=metrics.jailed,
            jailed_reason=metrics.jailed_reason,
            protocol_state=None if status is None else status.state,
            protocol_health=None if status is None else status.health.value,
        )

    # -- the node's jobs -------------------------------------------------------------------------------------

    async def GetNodeJobs(self, request: pb.NodeRef, context: grpc.aio.ServicerContext) -> pb.JobsReply:
        jobs = await self._run(context, self.manager.jobs, request.id_or_name)
        return pb.JobsReply(info_json={name: json.dumps(info.to_json()) for name, info in jobs.items()})

    async def GetNodeJobInfo(
        self, request: pb.NodeJobRef, context: grpc.aio.ServicerContext
    ) -> pb.JobInfoReply:
        info = await self._run(context, self.manager.job_info, request.id_or_name, request.job)
        return pb.JobInfoReply(info_json=json.dumps(info.to_json()))

    async def StartNodeJob(self, request: pb.NodeJobRef, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._run(context, self.manager.start_job, request.id_or_name, request.job)
        return pb.Empty()

    async def StopNodeJob(self, request: pb.NodeJobRef, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._run(context, self.manager.stop_job, request.id_or_name, request.job)
        return pb.Empty()

    async def SkipNodeJob(self, request: pb.NodeJobRef, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._run(context, self.manager.skip_job, request.id_or_name, request.job)
        return pb.Empty()

    async def CleanupNodeJob(self, request: pb.NodeJobRef, context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._run(context, self.manager.cleanup_job, request.id_or_name, request.job)
        return pb.Empty()
