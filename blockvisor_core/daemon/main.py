"""`blockvisord`: the host daemon, run in the foreground (systemd runs it as `blockvisor.service`).

It reads the host config under the root `BV_ROOT` selects, finds every node, and serves the internal
service on `VAR/blockvisor.socket` (mode 0600) while its loops run: recovery every 15 s (at once first),
protocol status and metrics every 30 s plus jitter, and the scheduler of plugin tasks. SIGTERM, SIGINT
and SIGHUP stop it gracefully: nodes, their agents and their jobs keep running, and a daemon started
again (even after a SIGKILL) finds every node as it was and restarts nothing.

Logging (loguru, to standard error and `ROOT/var/log/blockvisor/blockvisord.log`), by level: error, a
person has to act; warning, an abnormal event the daemon handled; info, the main actions; debug, the
recurring detail. `BV_LOG_LEVEL` sets the threshold (default INFO).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from loguru import logger

from blockvisor_core import config as host_config
from blockvisor_core.daemon import loops
from blockvisor_core.daemon.service import BlockvisorService
from blockvisor_core.nodes.manager import NodesManager
from blockvisor_core.nodes.scheduler import Scheduler, Task
from blockvisor_core.paths import Paths
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.protos import blockvisor_pb2_grpc
from blockvisor_core.runtime import Runtime
from blockvisor_core.secrets import SecretStore
from blockvisor_core.sockets import answers

LOG_LEVEL_VARIABLE = "BV_LOG_LEVEL"
LOG_FILE = "blockvisord.log"
#: Worker threads for node work: requests, loops and tasks. Each node's work holds only its own lock.
WORKERS = 32
#: How long requests in progress may finish once the daemon is told to stop.
STOP_GRACE_SECS = 5.0


class DaemonError(Exception):
    """The daemon cannot start; the message says what to fix."""


def main() -> None:
    paths = Paths.from_env()
    configure_logging(paths.logs)
    logger.info("Starting blockvisord {} (root {})", importlib.metadata.version("blockvisor"), paths.root)
    try:
        config = host_config.load(paths)
        asyncio.run(run(paths, config))
    except (DaemonError, host_config.ConfigError) as error:
        logger.error("blockvisord cannot start: {}", error)
        sys.exit(1)
    logger.info("blockvisord stopped; nodes keep running")


def configure_logging(folder: Path) -> None:
    """loguru to standard error and to a rotated file in `folder`; the standard library's logging too."""
    level = os.environ.get(LOG_LEVEL_VARIABLE, "INFO").upper()
    logger.remove()
    logger.add(sys.stderr, level=level)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        logger.add(folder / LOG_FILE, level=level, rotation="50 MB", retention=5, enqueue=True)
    except OSError as error:
        logger.warning("logging to standard error only: cannot write logs in {}: {}", folder, error)
    logging.basicConfig(handlers=[_ToLoguru()], level=level, force=True)
    # Their debug output is about their own machinery, not about nodes.
    for library in ("asyncio", "grpc"):
        logging.getLogger(library).setLevel(max(logging.getLevelName(level), logging.WARNING))


class _ToLoguru(logging.Handler):
    """Hands records of the standard library's logging (gRPC, plugins) to loguru, with their origin."""

    def emit(self, record: logging.LogRecord) -> None:
        known = record.levelname in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        origin = {"name": record.name, "function": record.funcName, "line": record.lineno}
        logger.patch(lambda entry: entry.update(origin)).opt(exception=record.exc_info).log(
            record.levelname if known else record.levelno, record.getMessage()
        )


def installed_runtimes() -> dict[str, Runtime]:
    """Every runtime the installed plugins provide, by name."""
    return {
        runtime.name: runtime for runtimes in plugin_manager().hook.node_runtimes() for runtime in runtimes
    }


async def run(paths: Paths, config: host_config.HostConfig) -> None:
    """Serve until a stop signal; the nodes and their jobs are left running."""
    executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="node-work")
    loop = asyncio.get_running_loop()
    manager: NodesManager

    async def fire(task: Task) -> None:
        await loop.run_in_executor(executor, manager.run_task, task)

    scheduler = Scheduler(paths.scheduler_state, fire)
    scheduler.load()
    manager = NodesManager(paths, config, installed_runtimes(), scheduler, SecretStore(paths.secrets))
    await loop.run_in_executor(executor, manager.load)
    server = await serve(paths.socket, BlockvisorService(manager, executor))
    stopped = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(number, stopped.set)
    background = [
        loops.every("recovery", lambda: loops.RECOVERY_SECS, manager.recover, executor, first_now=True),
        loops.every(
            "protocol status",
            lambda: loops.jittered(loops.STATUS_SECS),
            manager.poll_protocol_status,
            executor,
            first_now=False,
        ),
        loops.every(
            "metrics",
            lambda: loops.jittered(loops.METRICS_SECS),
            manager.poll_metrics,
            executor,
            first_now=False,
        ),
        scheduler.run(),
    ]
    tasks = [asyncio.create_task(work) for work in background]
    logger.info(
        "blockvisord serving on {} (default runtime: {})", paths.socket, manager.default_runtime or "none"
    )
    try:
        await stopped.wait()
    finally:
        logger.info("blockvisord stopping")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop(STOP_GRACE_SECS)
        with contextlib.suppress(FileNotFoundError):
            paths.socket.unlink()
        executor.shutdown(wait=True, cancel_futures=True)


async def serve(socket_path: Path, service: BlockvisorService) -> grpc.aio.Server:
    """Serve `service` on the Unix socket `socket_path`, readable and writable by the daemon's user only.

    Refuses while another daemon answers there; a socket file left by a daemon that died is replaced.
    """
    if answers(socket_path):
        raise DaemonError(f"another blockvisord already serves {socket_path}")
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    server = grpc.aio.server()
    blockvisor_pb2_grpc.add_BlockvisorServicer_to_server(service, server)
    # A strict umask while the socket is made leaves no moment when others may connect.
    umask = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{socket_path}")
        await server.start()
    finally:
        os.umask(umask)
    os.chmod(socket_path, 0o600)
    return server
