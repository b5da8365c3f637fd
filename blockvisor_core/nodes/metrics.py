"""A node's metrics (spec §3.9), collected from its protocol plugin by what the plugin can answer.

The protocol status comes first: while the node downloads, uploads or starts, or when the plugin cannot
tell its status, only the jobs are collected, as the protocol's own answers would be meaningless or slow.
Every other value is asked only when the plugin has the capability, and a failing one is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from loguru import logger

from babel_api.models import JobInfo, ProtocolStatus
from babel_api.plugin import ProtocolPlugin

#: Protocol states during which the protocol's own answers are not asked for.
BUSY_STATES = ("downloading", "uploading", "starting")
#: The values asked of a plugin that has the capability of that name.
VALUES = ("height", "block_age", "consensus", "apr", "jailed", "jailed_reason", "sqd_name")


@attrs.frozen(kw_only=True)
class NodeMetrics:
    """What a node reported; a value is None when the plugin could not or need not answer it."""

    protocol_status: ProtocolStatus | None = None
    height: int | None = None
    block_age: int | None = None
    consensus: bool | None = None
    apr: float | None = None
    jailed: bool | None = None
    jailed_reason: str | None = None
    sqd_name: str | None = None
    jobs: dict[str, JobInfo] = attrs.field(factory=dict)


def collect(node_id: str, plugin: ProtocolPlugin) -> NodeMetrics:
    """The metrics of the node whose plugin is `plugin`; failures are logged at debug level and skipped."""
    jobs = _quietly(node_id, "get_jobs", plugin.engine.get_jobs) or {}
    status = _quietly(node_id, "protocol_status", plugin.protocol_status)
    if status is None or status.state in BUSY_STATES:
        return NodeMetrics(protocol_status=status, jobs=jobs)
    capabilities = set(plugin.capabilities())
    values = {name: _quietly(node_id, name, getattr(plugin, name)) for name in VALUES if name in capabilities}
    return NodeMetrics(protocol_status=status, jobs=jobs, **values)


def _quietly(node_id: str, what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:
        logger.debug("node {}: {} failed: {}", node_id, what, error)
        return None
