"""One node: its state, its runtime, its agent process and its protocol plugin, behind one lock.

The methods here do the node's flows (spec §3.5, §3.6, §3.16); the caller (the nodes manager) holds
`lock` around each, so one node's slow call never waits on another node. Every change of state is
saved before the step it announces, so a daemon killed in the middle of a flow finds, when it starts
again, what was asked for, and recovery finishes the work.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

from loguru import logger

from babel_api.loading import load_protocol_plugin
from babel_api.models import NodeEnv
from babel_api.plugin import ProtocolPlugin
from blockvisor_core.agent.client import AgentCallError, AgentClient
from blockvisor_core.config import HostConfig
from blockvisor_core.files import write_atomic
from blockvisor_core.nodes.agent_process import AgentProcess, AgentStartError
from blockvisor_core.nodes.engine import STOP_MARGIN_SECS, HostEngine
from blockvisor_core.nodes.errors import NodeError, NotFound, PluginFailed, WrongState
from blockvisor_core.nodes.image_choice import ImageChoice
from blockvisor_core.nodes.metrics import NodeMetrics, collect
from blockvisor_core.nodes.scheduler import Scheduler
from blockvisor_core.nodes.state import (
    Backoff,
    ExpectedStatus,
    NodeState,
    NodeStatus,
    Recovery,
    Upgrade,
)
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.runtime import NodeNetwork, NodeSpec, Runtime, RuntimeStatus
from blockvisor_core.secrets import SecretStore

T = TypeVar("T")

#: Where the node's data folder is mounted inside an isolated node.
DATA_MOUNT_POINT = "/blockjoy"
#: Deadline of the calls the host makes to the agent by default, and of the liveness probe.
AGENT_TIMEOUT_SECS = 15.0
PROBE_TIMEOUT_SECS = 3.0
#: Pauses between the retries of an agent call that found the agent unreachable (spec §3.8).
AGENT_RETRY_DELAYS = (0.6, 1.2, 2.4)
#: Plugin methods that are not custom methods (spec §1.1): `call_method` routes them to their operation.
OPERATIONS = ("init", "upload", "protocol_status", "height", "block_age", "name", "address", "consensus")


class BackoffKind(enum.Enum):
    """The recovery attempts of spec §3.16 with their production back-off: (attempts, base seconds)."""

    START = ("start", 3, 15.0)
    STOP = ("stop", 3, 45.0)
    RECONNECT = ("reconnect", 3, 5.0)
    AGENT = ("agent", 3, 1.0)


class Node:
    """One node of this host. Callers hold `lock` around every method."""

    def __init__(
        self,
        state: NodeState,
        node_dir: Path,
        runtime: Runtime,
        config: HostConfig,
        scheduler: Scheduler,
        secrets: SecretStore,
    ) -> None:
        self.id = state.id
        self.dir = node_dir
        self.state = state
        self.runtime = runtime
        self.config = config
        self.lock = threading.RLock()
        self.agent = AgentProcess(node_dir, state.runtime)
        self.engine = HostEngine(self, scheduler, secrets)
        self._client: AgentClient | None = None
        self._probe: AgentClient | None = None
        self._probe_answered = -math.inf
        self._plugin: ProtocolPlugin | None = None

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    def save(self) -> None:
        self.state.save(self.dir)

    # -- what the node is ------------------------------------------------------------------------------------

    def params(self) -> dict[str, str]:
        return dict(self.state.properties)

    def node_env(self) -> NodeEnv:
        data = self.data_mount_point()
        return NodeEnv(
            node_id=self.id,
            node_name=self.state.name,
            node_org_id=self.config.org_id or "",
            node_version=self.state.image.version,
            node_protocol=self.state.image.protocol,
            node_variant=self.state.image.variant,
            node_ip=self.state.ip,
            node_gateway=self.state.gateway,
            bv_host_id=self.config.id or "",
            bv_host_name=self.config.name,
            bv_api_url=self.config.nodexeus_api_url or "",
            data_mount_point=data,
            protocol_data_path=str(PurePosixPath(data) / "protocol_data"),
        )

    def data_mount_point(self) -> str:
        """The node path of the node's data folder, as its runtime maps it: `/blockjoy` in an isolated
        node, the folder's host path with the process runtime (whose node paths are the host's)."""
        access = plugin_manager().hook.runtime_node_access(runtime=self.state.runtime, node_dir=self.dir)
        if access is None:
            return DATA_MOUNT_POINT
        data = self.data_dir.resolve()
        candidates = [
            str(PurePosixPath(prefix) / data.relative_to(folder.resolve()))
            for prefix, folder in access.mounts.items()
            if data.is_relative_to(folder.resolve())
        ]
        return min(candidates, key=len, default=DATA_MOUNT_POINT)

    def spec(self) -> NodeSpec:
        """The node as its runtime knows it."""
        state = self.state
        network = None
        if not state.host_network:
            network = NodeNetwork(
                ip=state.ip, gateway=state.gateway, prefix=state.prefix, bridge=state.bridge
            )
        return NodeSpec(
            id=self.id,
            name=state.name,
            node_dir=self.dir,
            rootfs=None if state.image.rootfs is None else Path(state.image.rootfs),
            container_uri=state.image.container_uri,
            data_dir=self.data_dir,
            data_mount_point=DATA_MOUNT_POINT,
            cpus=state.cpus,
            memory_mb=state.memory_mb,
            network=network,
        )

    def write_node_env_file(self) -> None:
        """`var/lib/babel/node_env` (spec §3.15): the node's env as `KEY="value"` lines, for shells."""
        env = self.node_env().to_json()
        lines = [
            f'{key.upper()}="{str(value).lower() if isinstance(value, bool) else value}"'
            for key, value in env.items()
        ]
        write_atomic(self.dir / "var" / "lib" / "babel" / "node_env", "\n".join(lines) + "\n")

    # -- the agent -------------------------------------------------------------------------------------------

    def agent_call(self, call: Callable[[AgentClient], T], timeout: float | None = None) -> T:
        """`call` with a client of the node's agent; retried while the agent is briefly unreachable.
        When nothing listens on its socket, the call fails at once: the agent is not running."""
        if not self.agent.answers():
            raise AgentCallError("UNAVAILABLE", "the node's agent is not running; is the node started?")
        for delay in (*AGENT_RETRY_DELAYS, None):
            if timeout is None:
                client = self._default_client()
            else:
                client = AgentClient(self.agent.socket, timeout=timeout)
            try:
                return call(client)
            except AgentCallError as error:
                if error.code != "UNAVAILABLE" or delay is None:
                    raise
                # A fresh channel: a gRPC channel that failed to connect waits out a growing back-off.
                self._drop_client()
                time.sleep(delay)
            finally:
                if timeout is not None:
                    client.close()
        raise AssertionError("unreachable")

    def agent_ok(self, max_age: float = 0.0) -> bool:
        """Whether the node's agent runs and answers. A running agent that answered the probe less than
        `max_age` seconds ago is not asked again. The probe's channel stays open: a round over a hundred
        nodes must not cost a hundred new connections."""
        if self.agent.pid() is None:
            return False
        if time.monotonic() - self._probe_answered < max_age:
            return True
        if self._probe is None:
            self._probe = AgentClient(self.agent.socket, timeout=PROBE_TIMEOUT_SECS)
        try:
            self._probe.get_version()
        except AgentCallError:
            return False
        self._probe_answered = time.monotonic()
        return True

    def _default_client(self) -> AgentClient:
        if self._client is None:
            self._client = AgentClient(self.agent.socket, timeout=AGENT_TIMEOUT_SECS)
        return self._client

    def _drop_client(self) -> None:
        for client in (self._client, self._probe):
            if client is not None:
                client.close()
        self._client = self._probe = None
        self._probe_answered = -math.inf

    def _start_agent(self) -> None:
        try:
            pid = self.agent.start()
        except AgentStartError as error:
            raise NodeError(f"node `{self.state.name}`: {error}") from None
        self._drop_client()
        logger.debug("node {}: agent serving (pid {})", self.id, pid)

    # -- the protocol plugin ---------------------------------------------------------------------------------

    def plugin(self) -> ProtocolPlugin:
        """The node's protocol plugin, loaded from its image on first use."""
        if self._plugin is None:
            image = self.state.image
            try:
                self._plugin = load_protocol_plugin(image.plugin, Path(image.folder), self.engine)
            except Exception as error:
                raise PluginFailed(
                    f"cannot load the protocol plugin of image {image.folder}: {error}"
                ) from None
        return self._plugin

    def plugin_call(self, call: Callable[[ProtocolPlugin], T]) -> T:
        """`call` on the plugin; any failure of the plugin or of what it asked for is `PluginFailed`."""
        plugin = self.plugin()
        try:
            return call(plugin)
        except NodeError:
            raise
        except Exception as error:
            raise PluginFailed(str(error) or type(error).__name__) from None

    def reload_plugin(self) -> None:
        """Load the plugin again from its image and evaluate its config again (spec §3.8)."""
        self._plugin = None
        self.plugin_call(lambda plugin: plugin.reload_plugin_config())

    def capabilities(self) -> list[str]:
        return self.plugin_call(lambda plugin: plugin.capabilities())

    def call_method(self, name: str, param: str) -> str:
        """Run a plugin method by name: an operation of the Babel API, or a custom method."""
        capabilities = self.capabilities()
        if name not in capabilities:
            raise NotFound(
                f"protocol method '{name}' not found; the plugin of node `{self.state.name}` offers: "
                f"{', '.join(capabilities) or 'nothing'}"
            )
        if name in ("init", "upload"):
            self.plugin_call(lambda plugin: getattr(plugin, name)())
            return ""
        if name == "protocol_status":
            return self.plugin_call(lambda plugin: json.dumps(plugin.protocol_status().to_json()))
        if name in OPERATIONS:
            answer = self.plugin_call(lambda plugin: getattr(plugin, name)())
            return str(answer).lower() if isinstance(answer, bool) else str(answer)
        return self.plugin_call(lambda plugin: plugin.call_custom_method(name, param))

    def metrics(self) -> NodeMetrics:
        return collect(self.id, self.plugin())

    # -- status ----------------------------------------------------------------------------------------------

    def runtime_status(self) -> RuntimeStatus:
        try:
            return self.runtime.status(self.spec())
        except Exception as error:
            logger.warning(
                "node {}: runtime {} cannot tell its status: {}", self.id, self.state.runtime, error
            )
            return RuntimeStatus.FAILED

    def status(self, agent_max_age: float = 0.0) -> NodeStatus:
        """Spec §3.2: what the runtime says, failed when it differs from what is expected, or when a
        running node's agent does not answer (see `agent_ok` for `agent_max_age`) or its init has not
        completed."""
        expected = self.state.expected_status
        actual = self.runtime_status()
        if (
            expected is ExpectedStatus.FAILED
            or actual is RuntimeStatus.FAILED
            or actual.value != expected.value
        ):
            return NodeStatus.FAILED
        if actual is RuntimeStatus.RUNNING and not (self.state.initialized and self.agent_ok(agent_max_age)):
            return NodeStatus.FAILED
        return NodeStatus(actual.value)

    # -- start and stop --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the node (spec §3.5): the runtime, the agent, `setup_babel`, and `init` the first time."""
        status = self.status()
        if status is NodeStatus.FAILED and self.state.expected_status is ExpectedStatus.STOPPED:
            raise WrongState(
                f"can't start node `{self.state.name}`, which was not stopped properly; "
                "stop it with --force first"
            )
        self.state.expected_status = ExpectedStatus.RUNNING
        self.state.recovery = Recovery()
        self.save()
        if status is NodeStatus.RUNNING:
            return
        self.bring_up()
        logger.info("node {} (`{}`) started", self.id, self.state.name)

    def bring_up(self) -> None:
        """Run the node, whatever part of it already runs; `init` the plugin when not done yet."""
        spec = self.spec()
        if self.runtime_status() is not RuntimeStatus.RUNNING:
            try:
                self.runtime.start(spec)
            except Exception as error:
                raise NodeError(
                    f"runtime {self.state.runtime} failed to start node `{self.state.name}`: {error}"
                ) from None
        self._start_agent()
        self._agent_step("setup", lambda agent: agent.setup_babel(self.node_env()))
        if not self.state.initialized:
            # Freshly loaded, so that init runs the plugin as the image has it now.
            self._plugin = None
            try:
                self.plugin_call(lambda plugin: plugin.init())
            except PluginFailed as error:
                raise PluginFailed(f"init of node `{self.state.name}` failed: {error}") from None
            self.state.initialized = True
            self.state.upgrade = None
        self.state.started_at = time.time()
        self.state.restarting = False
        self.save()

    def stop(self, force: bool) -> None:
        """Stop the node (spec §3.5): its jobs through the agent, the agent, then the runtime."""
        expected = self.state.expected_status
        if expected is ExpectedStatus.STOPPED and not force and self.status() is NodeStatus.STOPPED:
            return
        self.state.expected_status = ExpectedStatus.STOPPED
        self.save()
        self.bring_down(force)
        self.state.started_at = None
        self.save()
        logger.info("node {} (`{}`) stopped{}", self.id, self.state.name, " (forced)" if force else "")

    def bring_down(self, force: bool) -> None:
        """Stop what runs of the node. The jobs are stopped by the agent, which keeps them marked to run
        again at the next start; with `force`, a failure to stop them is only warned about, and they
        are killed."""
        spec = self.spec()
        if self.runtime_status() is not RuntimeStatus.STOPPED:
            try:
                self._shutdown_jobs()
            except NodeError as error:
                if not force:
                    raise NodeError(f"{error}; stop it with --force to kill its jobs") from None
                logger.warning("node {}: {}; killing its jobs", self.id, error)
                self.agent.kill_jobs()
        self.agent.stop()
        self._drop_client()
        try:
            self.runtime.stop(spec, force=force)
        except Exception as error:
            if force:
                raise NodeError(f"forced shutdown of node `{self.state.name}` failed: {error}") from None
            logger.warning("node {}: graceful shutdown failed ({}); forcing it", self.id, error)
            try:
                self.runtime.stop(spec, force=True)
            except Exception as forced:
                raise NodeError(f"forced shutdown of node `{self.state.name}` failed: {forced}") from None

    def _shutdown_jobs(self) -> None:
        # An agent that died left its jobs running: a new one adopts them, to stop them gracefully.
        if not self.agent.answers():
            self._start_agent()
        timeout = self._agent_step("shutdown", lambda agent: agent.get_babel_shutdown_timeout())
        self._agent_step(
            "shutdown", lambda agent: agent.shutdown_babel(force=True), timeout + STOP_MARGIN_SECS
        )

    def _agent_step(self, step: str, call: Callable[[AgentClient], T], timeout: float | None = None) -> T:
        try:
            return self.agent_call(call, timeout)
        except AgentCallError as error:
            raise NodeError(
                f"node `{self.state.name}`: agent {step} failed: {error.message or error.code}"
            ) from None

    def restart(self, force: bool) -> None:
        self.state.restarting = True
        self.save()
        self.stop(force)
        self.start()

    # -- upgrade ---------------------------------------------------------------------------------------------

    def upgrade(self, choice: ImageChoice, make_files: Callable[[], None]) -> None:
        """Move the node to another image (spec §3.6), keeping its folder and data.

        The node is stopped, the new image recorded (with what to roll back to), the runtime's files
        made again (`make_files`), and the node started again when it ran: `init` runs, as the node is
        no longer initialised, but one-time jobs do not, as their backups live in the data folder. A
        failure before the new init touched the protocol data rolls back to the previous image.
        """
        if self.status() is NodeStatus.FAILED:
            raise WrongState(f"can't upgrade node `{self.state.name}` in failed state")
        was_running = self.state.expected_status is ExpectedStatus.RUNNING
        if was_running:
            self._check_no_blocking_job()
            self.bring_down(force=False)
        state = self.state
        state.upgrade = Upgrade(
            previous=state.image,
            previous_properties=state.properties,
            previous_initialized=state.initialized,
            was_running=was_running,
            data_stamp=self.data_stamp(),
        )
        state.image, state.properties, state.initialized = choice.image, choice.params, False
        state.cpus, state.memory_mb, state.disk_gb = choice.cpus, choice.memory_mb, choice.disk_gb
        self.save()
        try:
            self.finish_upgrade(make_files)
        except NodeError as error:
            self._roll_back(error, make_files)
            raise

    def finish_upgrade(self, make_files: Callable[[], None]) -> None:
        """The steps of an upgrade after the new image is recorded."""
        self.prepare_upgraded_files(make_files)
        self._plugin = None
        if self.state.upgrade is not None:
            self.bring_up()

    def prepare_upgraded_files(self, make_files: Callable[[], None]) -> None:
        """Make the runtime's files for the recorded image unless done; a daemon that died before they
        were made does it when it starts. The node is started again by the caller, or by recovery."""
        upgrade = self.state.upgrade
        if not upgrade.runtime_ready:
            make_files()
            upgrade.runtime_ready = True
        if not upgrade.was_running:
            # Nothing to roll back to any more: the next start runs the new image's init.
            self.state.upgrade = None
        self.save()

    def _roll_back(self, error: NodeError, make_files: Callable[[], None]) -> None:
        state, upgrade = self.state, self.state.upgrade
        if self.data_stamp() != upgrade.data_stamp:
            state.upgrade = None
            self.save()
            raise NodeError(
                f"upgrade of node `{state.name}` to {state.image.version} failed after its init changed the "
                f"protocol data, so it is not rolled back: {error}"
            ) from None
        target = state.image.version
        try:
            with contextlib.suppress(NodeError):
                self.bring_down(force=True)
            state.image, state.properties = upgrade.previous, upgrade.previous_properties
            state.initialized = upgrade.previous_initialized
            upgrade.runtime_ready = False
            self.save()
            self.finish_upgrade(make_files)
            state.upgrade = None
            self.save()
        except NodeError as rollback_error:
            state.expected_status = ExpectedStatus.FAILED
            self.save()
            raise NodeError(
                f"upgrade of node `{state.name}` to {target} failed: {error}; "
                f"rolling back failed too: {rollback_error}"
            ) from None
        raise NodeError(
            f"upgrade of node `{state.name}` to {target} failed: {error}; "
            f"rolled back to {state.image.version}"
        ) from None

    def _check_no_blocking_job(self) -> None:
        jobs = self._agent_step("get_jobs", lambda agent: agent.get_jobs())
        blocking = [
            name for name, info in jobs.items() if info.upgrade_blocking and info.status.kind == "running"
        ]
        if blocking:
            raise WrongState(
                f"can't upgrade node `{self.state.name}` while its job(s) {', '.join(blocking)} run; "
                "try again once they finish"
            )

    def data_stamp(self) -> float | None:
        """The protocol data stamp (mtime of `.protocol_data.lock` in the data folder), None if absent."""
        try:
            return (self.data_dir / ".protocol_data.lock").stat().st_mtime
        except FileNotFoundError:
            return None

    # -- recovery --------------------------------------------------------------------------------------------

    def recover(self) -> None:
        """One recovery attempt for a failed node (spec §3.16), unless its back-off says wait."""
        state = self.state
        if state.expected_status is ExpectedStatus.FAILED or self._backing_off():
            return
        if state.expected_status is ExpectedStatus.STOPPED:
            stopped = self._attempt(
                BackoffKind.STOP, lambda: self._bring_down_stopped(force=not self.agent_ok())
            )
            if stopped and state.restarting and self._attempt(BackoffKind.START, self.bring_up):
                logger.info("node {}: recovered (restarted)", self.id)
            elif stopped:
                logger.info("node {}: recovered (stopped)", self.id)
            return
        actual = self.runtime_status()
        if actual is RuntimeStatus.STOPPED or not state.initialized:
            kind, step, done = BackoffKind.START, self.bring_up, "started"
        elif actual is RuntimeStatus.FAILED:
            kind, step, done = BackoffKind.STOP, self._restart_forced, "restarted"
        elif self.agent.pid() is None:
            kind, step, done = BackoffKind.AGENT, self.bring_up, "agent restarted"
        else:
            kind, step, done = BackoffKind.RECONNECT, self._reconnect, "agent answers again"
        if self._attempt(kind, step):
            logger.info("node {}: recovered ({})", self.id, done)

    def _bring_down_stopped(self, force: bool) -> None:
        self.bring_down(force)
        self.state.started_at = None

    def _restart_forced(self) -> None:
        self.bring_down(force=True)
        self.bring_up()

    def _reconnect(self) -> None:
        """An agent that runs but does not answer: a fresh connection, else a new agent."""
        self._drop_client()
        if not self.agent_ok():
            self.agent.stop()
            self.bring_up()

    def _backing_off(self) -> bool:
        now = time.time()
        recovery = self.state.recovery
        return any(getattr(recovery, kind.value[0]).not_before > now for kind in BackoffKind)

    def _attempt(self, kind: BackoffKind, step: Callable[[], None]) -> bool:
        """Run a recovery step; whether it worked. A failure backs off (base · 2^failures); when the
        attempts of a start or a stop are used up, the node is given up (expected status `failed`), and
        when those of reconnecting or restarting the agent are, the node is restarted instead."""
        name, attempts, base = kind.value
        try:
            step()
        except Exception as error:
            backoff: Backoff = getattr(self.state.recovery, name)
            backoff.not_before = time.time() + base * 2**backoff.failures
            backoff.failures += 1
            exhausted = backoff.failures >= attempts
            logger.warning(
                "node {}: recovery ({}) failed, attempt {}: {}", self.id, name, backoff.failures, error
            )
            if exhausted and kind in (BackoffKind.START, BackoffKind.STOP):
                self.state.expected_status = ExpectedStatus.FAILED
                logger.error(
                    "node {} (`{}`) failed for good after {} attempts to {} it; check its logs, then "
                    "start or delete it",
                    self.id,
                    self.state.name,
                    attempts,
                    name,
                )
            self.save()
            if exhausted and kind in (BackoffKind.RECONNECT, BackoffKind.AGENT):
                return self._attempt(BackoffKind.STOP, self._restart_forced)
            return False
        self.state.recovery = Recovery()
        self.save()
        return True
