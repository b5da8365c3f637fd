"""A node's state, persisted as `<node_dir>/state.json` with an atomic write after every change.

The file is the truth about a node: a daemon killed at any moment and started again reads every node
back from it, and finds what the operator last asked for (`expected_status`) beside what the node
went through (initialised, started at, recovery attempts, an upgrade under way).
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import attrs

from babel_api.shapes import JsonShape, ShapeError
from blockvisor_core.files import write_atomic

STATE_FILE = "state.json"


class ExpectedStatus(enum.StrEnum):
    """What the operator asked of the node; `failed` is set by recovery when it gave up for good."""

    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"


class NodeStatus(enum.StrEnum):
    """The status shown for a node (spec §3.2): derived from the runtime and the agent, never stored."""

    RUNNING = "running"
    STOPPED = "stopped"
    BUSY = "busy"
    FAILED = "failed"


@attrs.define(kw_only=True)
class NodeImage(JsonShape):
    """The image a node runs: as the operator named it, where it was found, and what it is.

    `plugin` is the image's plugin section (`babel_api.loading.load_protocol_plugin` takes it), `rootfs`
    the folder or tarball the node's root file system is made from (None: the host's view), and
    `container_uri` what the apptainer runtime builds it from instead. `store_key` is the dataset of the
    node's archive in the host's archive store (`images.archive_store_key`), None when it has none; kept
    with the image, as the original keeps it, so that a rollback or a resumed upgrade restores the
    node's archive config without reading images again, and an upgrade can tell a change of dataset.
    """

    reference: str
    folder: str
    protocol: str
    variant: str
    version: str
    plugin: dict[str, Any] = attrs.field(factory=dict)
    rootfs: str | None = None
    container_uri: str | None = None
    store_key: str | None = None


@attrs.define(kw_only=True)
class Backoff(JsonShape):
    """Consecutive failures of one kind of recovery attempt, and when the next one may run (Unix time)."""

    failures: int = 0
    not_before: float = 0.0


@attrs.define(kw_only=True)
class Recovery(JsonShape):
    """The back-offs of recovery (spec §3.16): starting, stopping, reconnecting to the agent and
    restarting the agent (the original's "vm" recovery)."""

    start: Backoff = attrs.field(factory=Backoff)
    stop: Backoff = attrs.field(factory=Backoff)
    reconnect: Backoff = attrs.field(factory=Backoff)
    agent: Backoff = attrs.field(factory=Backoff)


@attrs.define(kw_only=True)
class Upgrade(JsonShape):
    """An upgrade under way: what the node ran before, to roll back to, and how far it went.

    `runtime_ready` is set once the runtime holds the new image's files; a daemon that died before
    makes them again when it starts. `data_stamp` is the protocol data stamp before the upgrade: once
    it changed, the new version's init touched the data and a rollback would be unsafe.
    """

    previous: NodeImage
    previous_properties: dict[str, str]
    previous_initialized: bool
    was_running: bool
    data_stamp: float | None = None
    runtime_ready: bool = False


@attrs.define(kw_only=True)
class NodeState(JsonShape):
    """Everything the host keeps about one node.

    `host_network`: the node uses the host's network (its `ip` is the host's); otherwise `ip` is its own
    address on `bridge`, taken from the host's pool, with `prefix` and `gateway`.
    """

    id: str
    name: str
    created_at: float
    image: NodeImage
    properties: dict[str, str] = attrs.field(factory=dict)
    tags: list[str] = attrs.field(factory=list)
    runtime: str
    ip: str
    gateway: str
    prefix: int = 32
    bridge: str = ""
    host_network: bool = True
    cpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    expected_status: ExpectedStatus = ExpectedStatus.STOPPED
    started_at: float | None = None
    initialized: bool = False
    restarting: bool = False
    recovery: Recovery = attrs.field(factory=Recovery)
    upgrade: Upgrade | None = None

    def save(self, node_dir: Path) -> None:
        """Replace `<node_dir>/state.json` atomically: a crash leaves the old state or the new one."""
        write_atomic(node_dir / STATE_FILE, json.dumps(self.to_json(), indent=2) + "\n", mode=0o600)

    @classmethod
    def load(cls, node_dir: Path) -> NodeState:
        """Read `<node_dir>/state.json`; a missing or malformed file raises `StateError` naming it."""
        path = node_dir / STATE_FILE
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError) as error:
            detail = str(error) if isinstance(error, ShapeError) else f"{type(error).__name__}: {error}"
            raise StateError(f"{path}: {detail}") from None


class StateError(Exception):
    """A node's state file that cannot be read; the node is kept as broken, never guessed at."""
