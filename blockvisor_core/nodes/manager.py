"""The nodes manager: every node of this host, found by id or name, each behind its own lock.

Requests name a node by id or by name. Each request holds only its node's lock, so a slow start or a
plugin call of one node never blocks another; the registry (ids, names, addresses) has a lock of its
own, held only for lookups and changes of membership. Listings never wait: a node whose lock is held
shows its last known state with status `busy`.

At start the manager reads every node folder (spec §3.1, without the original's defect of ignoring
them when the manager's own state file is missing). Nothing is started or restarted then: nodes and
their jobs kept running while the daemon was away, and the recovery loop fixes whatever did not.
A node folder whose state cannot be read is kept as a broken node: listed as failed, refused for
everything but delete.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import random
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
from loguru import logger

from babel_api.models import JobInfo, ProtocolStatus
from blockvisor_core.agent.client import AgentCallError, AgentClient
from blockvisor_core.config import HostConfig
from blockvisor_core.files import write_atomic
from blockvisor_core.nodes.addresses import allocate
from blockvisor_core.nodes.engine import STOP_MARGIN_SECS
from blockvisor_core.nodes.errors import InvalidRequest, NodeError, NotFound, WrongState
from blockvisor_core.nodes.image_choice import ImageChoice, choose_image
from blockvisor_core.nodes.metrics import NodeMetrics
from blockvisor_core.nodes.node import Node
from blockvisor_core.nodes.scheduler import Scheduler, Task
from blockvisor_core.nodes.state import STATE_FILE, ExpectedStatus, NodeState, NodeStatus, StateError
from blockvisor_core.paths import Paths, archive_config
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.runtime import Runtime
from blockvisor_core.secrets import SecretStore

T = TypeVar("T")

#: The runtimes tried, in order, when the host config names none.
PREFERRED_RUNTIMES = ("apptainer", "bwrap", "process")

_NAME_WORDS = (
    ("amber", "brave", "calm", "deft", "eager", "fair", "gentle", "hardy", "keen", "lively", "merry",
     "noble", "proud", "quick", "quiet", "rapid", "sharp", "steady", "swift", "witty"),
    ("arctic", "autumn", "coastal", "crimson", "desert", "golden", "hidden", "lunar", "misty", "northern",
     "polar", "rustic", "silent", "silver", "solar", "spring", "stormy", "velvet", "wild", "winter"),
    ("badger", "beaver", "bison", "cobra", "crane", "eagle", "falcon", "ferret", "gecko", "heron", "ibex",
     "lynx", "marten", "otter", "panda", "puffin", "raven", "salmon", "tiger", "walrus"),
)  # fmt: skip


#: How many node statuses `views` asks for at once.
VIEW_WORKERS = 16
#: How old a running agent's last answer to its probe may be for `views` not to probe it again. The
#: recovery round probes every node (every 15 s in the daemon), so a listing probes almost none: an agent
#: that stopped answering shows in a listing within this time (one that is gone, at once), while `view`
#: always probes.
VIEW_AGENT_MAX_AGE_SECS = 30.0


@attrs.frozen(kw_only=True)
class CreateRequest:
    """What a new node is made of; empty `name`/`runtime` mean a generated name and the host's default."""

    image: str
    properties: Mapping[str, str] = attrs.field(factory=dict)
    name: str = ""
    tags: list[str] = attrs.field(factory=list)
    runtime: str = ""


@attrs.frozen(kw_only=True)
class NodeView:
    """A node as a listing shows it: its state (a copy) and its status; `error` for a broken node."""

    id: str
    status: NodeStatus
    state: NodeState | None
    error: str = ""


@attrs.define
class _Broken:
    """A node folder whose state file cannot be read."""

    id: str
    error: str
    lock: threading.RLock = attrs.field(factory=threading.RLock)


class NodesManager:
    """Every node of this host: their flows, their plugins' methods and jobs, recovery."""

    def __init__(
        self,
        paths: Paths,
        config: HostConfig,
        runtimes: Mapping[str, Runtime],
        scheduler: Scheduler,
        secrets: SecretStore,
    ) -> None:
        self.paths = paths
        self.config = config
        self.runtimes = dict(runtimes)
        self.scheduler = scheduler
        self.secrets = secrets
        self._registry = threading.Lock()
        self._nodes: dict[str, Node | _Broken] = {}
        self._names: dict[str, str] = {}
        self.protocol_statuses: dict[str, ProtocolStatus] = {}
        self.last_metrics: dict[str, NodeMetrics] = {}

    @property
    def default_runtime(self) -> str:
        """The runtime of new nodes: the host config's, else the first available of `PREFERRED_RUNTIMES`."""
        if self.config.runtime:
            return self.config.runtime
        for name in (*PREFERRED_RUNTIMES, *self.runtimes):
            runtime = self.runtimes.get(name)
            if runtime is not None and runtime.available():
                return name
        return ""

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self) -> None:
        """Read every node folder; start nothing."""
        self.paths.nodes.mkdir(parents=True, exist_ok=True)
        for folder in sorted(self.paths.nodes.iterdir()):
            if not (folder / STATE_FILE).is_file():
                continue
            try:
                state = NodeState.load(folder)
                node = self._node(state)
            except (StateError, NodeError) as error:
                logger.error("node {} is broken and kept as failed: {}", folder.name, error)
                self._nodes[folder.name] = _Broken(folder.name, str(error))
                continue
            self._nodes[state.id] = node
            self._names[state.name] = state.id
            if state.upgrade is not None and not state.upgrade.runtime_ready:
                logger.warning("node {}: resuming its upgrade to {}", state.id, state.image.version)
                try:
                    node.prepare_upgraded_files(self._make_files(node))
                except NodeError as error:
                    logger.error("node {}: the upgrade cannot go on: {}", state.id, error)
        logger.info("{} node(s) found in {}", len(self._nodes), self.paths.nodes)

    def _node(self, state: NodeState) -> Node:
        runtime = self.runtimes.get(state.runtime)
        if runtime is None:
            raise NodeError(
                f"runtime '{state.runtime}' is not installed (installed: {', '.join(self.runtimes)})"
            )
        node_dir = self.paths.node_dir(state.id)
        return Node(state, node_dir, runtime, self.config, self.scheduler, self.secrets)

    def _make_files(self, node: Node) -> Callable[[], None]:
        """Remake the runtime's files of the node for its current image (an upgrade's step)."""

        def make() -> None:
            spec = node.spec()
            try:
                node.runtime.delete(spec)
                node.runtime.create(spec)
            except Exception as error:
                raise NodeError(
                    f"runtime {node.state.runtime} failed to prepare node `{node.state.name}`: {error}"
                ) from None
            node.write_node_env_file()
            self._write_archive_config(node)

        return make

    def _write_archive_config(self, node: Node) -> None:
        """The node's archive config (`paths.archive_config`): the host's archive store and the dataset
        of the node's image, which the snapshots plugin builds the node's archive from; removed when the
        node has no archive. Owner-only: an S3 store's config holds its secret key."""
        path = archive_config(node.dir)
        store_key = node.state.image.store_key
        if store_key is None:
            path.unlink(missing_ok=True)
            return
        config = {"store": self._archive_store(), "store_key": store_key}
        write_atomic(path, json.dumps(config, indent=2) + "\n", mode=0o600)

    def _archive_store(self) -> dict[str, Any]:
        """The host's archive store config, checked by the plugin of its kind, so that a mistake in the
        host config fails the create or upgrade that needs the store, naming the field, rather than
        the node's init later."""
        store = self.config.archive_store_config(self.paths)
        try:
            provided = plugin_manager().hook.archive_store(config=store)
        except ValueError as error:
            raise NodeError(f"{self.paths.config}: archive_store: {error}") from None
        if provided is None:
            raise NodeError(
                f"{self.paths.config}: archive_store.kind: no installed plugin provides archive stores "
                f"of kind {store['kind']!r}"
            )
        return store

    # -- lookups ---------------------------------------------------------------------------------------------

    def _find(self, ref: str) -> Node | _Broken:
        with self._registry:
            node = self._nodes.get(ref) or self._nodes.get(self._names.get(ref, ""))
        if node is None:
            raise NotFound(f"Node `{ref}` not found")
        return node

    def _get(self, ref: str, action: str) -> Node:
        node = self._find(ref)
        if isinstance(node, _Broken):
            raise WrongState(f"cannot {action} broken node {node.id}: {node.error}")
        return node

    def _locked(self, ref: str, action: str, call: Callable[[Node], T]) -> T:
        node = self._get(ref, action)
        with node.lock, self._reported(node):
            return call(node)

    @contextlib.contextmanager
    def _reported(self, node: Node) -> Iterator[None]:
        """Turn an agent's refusal into the node error of its kind."""
        try:
            yield
        except AgentCallError as error:
            message = f"node `{node.state.name}`: {error.message or error.code}"
            kinds = {
                "NOT_FOUND": NotFound,
                "INVALID_ARGUMENT": InvalidRequest,
                "FAILED_PRECONDITION": WrongState,
                # The agent does not run: the node is stopped, or failed and waits for recovery.
                "UNAVAILABLE": WrongState,
            }
            raise kinds.get(error.code, NodeError)(message) from None

    def view(self, ref: str) -> NodeView:
        return self._view(self._find(ref), agent_max_age=0.0)

    def views(self) -> list[NodeView]:
        """Every node's view. Each status asks the runtime and may probe the node's agent, so they are
        asked concurrently: a hundred nodes answer in the time of a few."""
        with self._registry:
            nodes = list(self._nodes.values())
        with concurrent.futures.ThreadPoolExecutor(max_workers=VIEW_WORKERS) as pool:
            return list(pool.map(lambda node: self._view(node, VIEW_AGENT_MAX_AGE_SECS), nodes))

    def _view(self, node: Node | _Broken, agent_max_age: float) -> NodeView:
        if isinstance(node, _Broken):
            return NodeView(id=node.id, status=NodeStatus.FAILED, state=None, error=node.error)
        if not node.lock.acquire(blocking=False):
            return NodeView(id=node.id, status=NodeStatus.BUSY, state=_copy(node.state))
        try:
            return NodeView(id=node.id, status=node.status(agent_max_age), state=_copy(node.state))
        finally:
            node.lock.release()

    def used_ips(self) -> list[str]:
        with self._registry:
            return sorted({node.state.ip for node in self._nodes.values() if isinstance(node, Node)})

    # -- create and delete -----------------------------------------------------------------------------------

    def create(self, request: CreateRequest) -> NodeView:
        """Create a node (stopped): resolve the image, check the params, take an address, make the
        runtime's files, and load the plugin once, so a broken image fails here rather than at start."""
        choice = choose_image(request.image, request.properties, self.config.image_search_path(self.paths))
        runtime_name = request.runtime or self.default_runtime
        runtime = self.runtimes.get(runtime_name)
        if runtime is None or not runtime.available():
            installed = ", ".join(name for name, rt in self.runtimes.items() if rt.available()) or "none"
            raise InvalidRequest(
                f"runtime '{runtime_name}' is not available on this host (available: {installed})"
            )
        if request.name and (request.name != request.name.strip() or not request.name.isprintable()):
            raise InvalidRequest(
                f"invalid node name {request.name!r}: no surrounding spaces or control characters"
            )
        node_id = str(uuid.uuid4())
        with self._registry:
            name = request.name or self._new_name()
            if name in self._names:
                raise InvalidRequest(f"node with name `{name}` exists")
            used = {node.state.ip for node in self._nodes.values() if isinstance(node, Node)}
            address = allocate(self.config, used)
            state = NodeState(
                id=node_id,
                name=name,
                created_at=time.time(),
                image=choice.image,
                properties=choice.params,
                tags=list(request.tags),
                runtime=runtime_name,
                ip=address.ip,
                gateway=address.gateway,
                prefix=address.prefix,
                bridge=address.bridge,
                host_network=address.host_network,
                cpus=choice.cpus,
                memory_mb=choice.memory_mb,
                disk_gb=choice.disk_gb,
            )
            node = Node(
                state, self.paths.node_dir(node_id), runtime, self.config, self.scheduler, self.secrets
            )
            # Registered at once (locked, so shown busy until made), so that no other create takes the
            # name or the address meanwhile.
            node.lock.acquire()
            self._nodes[node_id] = node
            self._names[name] = node_id
        try:
            self._make(node)
        except BaseException:
            with contextlib.suppress(Exception):
                runtime.delete(node.spec())
            self._forget(node)
            shutil.rmtree(node.dir, ignore_errors=True)
            raise
        finally:
            node.lock.release()
        logger.info("node {} (`{}`) created from {}", node_id, name, choice.image.folder)
        return self._view(node, agent_max_age=0.0)

    def _make(self, node: Node) -> None:
        shutil.rmtree(node.dir, ignore_errors=True)
        node.data_dir.mkdir(parents=True)
        node.save()
        try:
            node.runtime.create(node.spec())
        except Exception as error:
            raise NodeError(
                f"runtime {node.state.runtime} failed to create node `{node.state.name}`: {error}"
            ) from None
        node.write_node_env_file()
        self._write_archive_config(node)
        node.capabilities()

    def _new_name(self) -> str:
        while True:
            name = "-".join(random.choice(words) for words in _NAME_WORDS)
            if name not in self._names:
                return name

    def _forget(self, node: Node | _Broken) -> None:
        with self._registry:
            self._nodes.pop(node.id, None)
            if isinstance(node, Node):
                self._names.pop(node.state.name, None)
        self.protocol_statuses.pop(node.id, None)
        self.last_metrics.pop(node.id, None)

    def delete(self, ref: str) -> None:
        """Stop the node (forced), remove its runtime's files, its folder, its secrets and its tasks."""
        node = self._find(ref)
        with node.lock:
            if isinstance(node, Node):
                node.state.expected_status = ExpectedStatus.STOPPED
                node.save()
                try:
                    node.bring_down(force=True)
                except NodeError as error:
                    logger.warning("node {}: {}; deleting it anyway", node.id, error)
                try:
                    node.runtime.delete(node.spec())
                except Exception as error:
                    raise NodeError(
                        f"runtime {node.state.runtime} failed to delete node `{node.state.name}`: {error}"
                    ) from None
            shutil.rmtree(self.paths.node_dir(node.id), ignore_errors=True)
            self._forget(node)
        self.scheduler.delete_node(node.id)
        self.secrets.delete(node.id)
        logger.info("node {} deleted", node.id)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, ref: str) -> NodeView:
        return self._flow(ref, "start", lambda node: node.start())

    def stop(self, ref: str, force: bool = False) -> NodeView:
        return self._flow(ref, "stop", lambda node: node.stop(force))

    def restart(self, ref: str, force: bool = False) -> NodeView:
        return self._flow(ref, "restart", lambda node: node.restart(force))

    def upgrade(self, ref: str, image: str) -> NodeView:
        """Move the node to another image (another version, usually), keeping its data and params."""

        def upgrade(node: Node) -> None:
            choice = choose_image(image, node.state.properties, self.config.image_search_path(self.paths))
            current = node.state.image
            if choice.image.protocol != current.protocol:
                raise InvalidRequest(
                    f"cannot upgrade node `{node.state.name}` of protocol {current.protocol} "
                    f"to an image of protocol {choice.image.protocol}"
                )
            if (choice.image.folder, choice.image.version) == (current.folder, current.version):
                return
            node.upgrade(_same_dataset(node, choice), self._make_files(node))
            logger.info("node {} upgraded from {} to {}", node.id, current.version, choice.image.version)

        return self._flow(ref, "upgrade", upgrade)

    def reload_plugin(self, ref: str) -> None:
        self._locked(ref, "reload the plugin of", lambda node: node.reload_plugin())

    def _flow(self, ref: str, action: str, flow: Callable[[Node], None]) -> NodeView:
        node = self._get(ref, action)
        with node.lock, self._reported(node):
            flow(node)
            return NodeView(id=node.id, status=node.status(), state=_copy(node.state))

    # -- the plugin and the jobs -----------------------------------------------------------------------------

    def capabilities(self, ref: str) -> list[str]:
        return self._locked(ref, "ask", lambda node: node.capabilities())

    def call_method(self, ref: str, method: str, param: str) -> str:
        return self._locked(ref, "run a method of", lambda node: node.call_method(method, param))

    def metrics(self, ref: str) -> NodeMetrics:
        return self._locked(ref, "collect the metrics of", lambda node: node.metrics())

    def jobs(self, ref: str) -> dict[str, JobInfo]:
        return self._locked(
            ref, "list the jobs of", lambda node: node.agent_call(lambda agent: agent.get_jobs())
        )

    def job_info(self, ref: str, job: str) -> JobInfo:
        return self._locked(ref, "ask", lambda node: node.agent_call(lambda agent: agent.job_info(job)))

    def start_job(self, ref: str, job: str) -> None:
        self._locked(ref, "start a job of", lambda node: node.agent_call(lambda agent: agent.start_job(job)))

    def stop_job(self, ref: str, job: str) -> None:
        self._locked(
            ref, "stop a job of", lambda node: _halt_job(node, job, lambda agent: agent.stop_job(job))
        )

    def skip_job(self, ref: str, job: str) -> None:
        self._locked(
            ref, "skip a job of", lambda node: _halt_job(node, job, lambda agent: agent.skip_job(job))
        )

    def cleanup_job(self, ref: str, job: str) -> None:
        self._locked(
            ref, "clean up a job of", lambda node: node.agent_call(lambda agent: agent.cleanup_job(job))
        )

    # -- background work -------------------------------------------------------------------------------------

    def _free_nodes(self) -> Iterator[Node]:
        """Each node whose lock is free, locked while the caller works on it; busy nodes are skipped."""
        with self._registry:
            nodes = [node for node in self._nodes.values() if isinstance(node, Node)]
        for node in nodes:
            if node.lock.acquire(blocking=False):
                try:
                    if node.id in self._nodes:
                        yield node
                finally:
                    node.lock.release()

    def recover(self) -> None:
        """One round of recovery (spec §3.16) over every failed node that nobody is working on."""
        for node in self._free_nodes():
            try:
                if node.status() is NodeStatus.FAILED:
                    node.recover()
            except Exception:
                logger.exception("node {}: recovery crashed", node.id)

    def poll_protocol_status(self) -> None:
        """Ask every running node's plugin for its protocol status; log changes of health."""
        for node in self._free_nodes():
            if node.status() is not NodeStatus.RUNNING:
                continue
            try:
                status = node.plugin_call(lambda plugin: plugin.protocol_status())
            except NodeError as error:
                logger.debug("node {}: protocol status unavailable: {}", node.id, error)
                continue
            previous = self.protocol_statuses.get(node.id)
            self.protocol_statuses[node.id] = status
            if previous != status:
                level = "WARNING" if status.health == "unhealthy" else "INFO"
                logger.log(level, "node {}: protocol {} ({})", node.id, status.state, status.health)

    def poll_metrics(self) -> None:
        """Collect the metrics of every running node, by what its plugin can answer."""
        for node in self._free_nodes():
            if node.status() is not NodeStatus.RUNNING:
                continue
            try:
                metrics = node.metrics()
            except NodeError as error:
                logger.debug("node {}: metrics unavailable: {}", node.id, error)
                continue
            self.last_metrics[node.id] = metrics
            logger.debug("node {}: height {}, block age {}", node.id, metrics.height, metrics.block_age)

    def run_task(self, task: Task) -> None:
        """Fire a scheduled task: call its plugin function if the node runs; a failure is a warning."""
        with self._registry:
            node = self._nodes.get(task.node_id)
        if not isinstance(node, Node):
            return
        if not node.lock.acquire(blocking=False):
            logger.debug("node {}: busy, scheduled task '{}' skipped", node.id, task.name)
            return
        try:
            if node.status() is NodeStatus.RUNNING:
                node.call_method(task.function, task.param)
        except NodeError as error:
            logger.warning("node {}: scheduled task '{}' failed: {}", node.id, task.name, error)
        finally:
            node.lock.release()


def _halt_job(node: Node, job: str, halt: Callable[[AgentClient], None]) -> None:
    """Stop or skip a job, with a deadline of its shutdown timeout and a margin (spec §3.8)."""
    timeout = node.agent_call(lambda agent: agent.get_job_shutdown_timeout(job)) + STOP_MARGIN_SECS
    node.agent_call(halt, timeout)


def _same_dataset(node: Node, choice: ImageChoice) -> ImageChoice:
    """The image an upgrade moves the node to, keeping the node's dataset (spec §3.6): a new version
    whose variant names no archive for the node's properties keeps the node's, and one that names
    another dataset is refused, as the node's data and the archive would no longer match. A node
    without an archive takes the one the new version names."""
    current, desired = node.state.image.store_key, choice.image.store_key
    if desired is None:
        return attrs.evolve(choice, image=attrs.evolve(choice.image, store_key=current))
    if current is not None and desired != current:
        raise InvalidRequest(
            f"cannot upgrade node `{node.state.name}` to a version that uses a different data set "
            f"(current=`{current}`, desired=`{desired}`)"
        )
    return choice


def _copy(state: NodeState) -> NodeState:
    return NodeState.from_json(json.loads(json.dumps(state.to_json())))
