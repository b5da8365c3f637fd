"""How `bv` shows what the daemon answers: text for an operator, JSON with stable keys for a script.

Every `*_json` function returns plain values ready for `json.dumps`; absent values are `null`, never
missing keys, so a script can rely on the shape. The text layouts follow the original's (spec §1.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from blockvisor_core.protos import blockvisor_pb2 as pb

if TYPE_CHECKING:  # the job models are only named here; bv's start-up does without them
    from babel_api.models import JobInfo, JobProgress

#: What the text layouts show for a value that is absent.
ABSENT = "-"

#: Width of the label column of `bv node info`.
LABEL_WIDTH = 17

#: How many of a job's log lines `bv node info` shows.
INFO_LOG_LINES = 3


def dumps(value: Any) -> str:
    """The JSON text of one command's answer."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def dumps_line(value: Any) -> str:
    """One JSON value on one line, for commands that stream their answer (`--follow`)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- plain values -------------------------------------------------------------------------------------------


def uptime(started_at: float, now: float) -> str:
    """Time since `started_at` as `[<d>d ]HH:MM:SS`; `-` when not started (0)."""
    if not started_at:
        return ABSENT
    return duration(max(0.0, now - started_at))


def duration(seconds: float) -> str:
    """`[<d>d ]HH:MM:SS`."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{f'{days}d ' if days else ''}{hours:02}:{minutes:02}:{secs:02}"


def size(count: float) -> str:
    """A byte count in decimal units, as disks and links are sold: `1.50 GB`."""
    units = ("B", "kB", "MB", "GB", "TB")
    index = 0
    while abs(count) >= 1000 and index < len(units) - 1:
        count /= 1000
        index += 1
    return f"{count:.0f} B" if index == 0 else f"{count:.2f} {units[index]}"


def gigabytes(count: int) -> str:
    """Bytes as GB with 3 decimals, the unit of `bv host info` and `bv host metrics`."""
    return f"{count / 1e9:.3f} GB"


def labelled(label: str, value: object) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{value}"


def optional(value: object) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def status_word(status: str) -> str:
    """The daemon's `running` as the operator reads it: `Running`."""
    return status.capitalize() if status else ABSENT


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, sized to their widest cell."""
    rows = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


# -- the daemon ---------------------------------------------------------------------------------------------


def info_text(info: pb.InfoReply) -> str:
    return f"blockvisord {info.version} - {info.status} (root: {info.root}, default runtime: {info.runtime})"


def info_json(info: pb.InfoReply) -> dict[str, Any]:
    return {"version": info.version, "root": info.root, "runtime": info.runtime, "status": info.status}


def host_metrics_text(metrics: pb.HostMetrics) -> str:
    return "\n".join(
        [
            labelled("Used cpu", f"{metrics.used_cpu_percent:.2f}%"),
            labelled(
                "Used mem",
                f"{gigabytes(metrics.used_memory_bytes)} of {gigabytes(metrics.total_memory_bytes)}",
            ),
            labelled(
                "Used disk", f"{gigabytes(metrics.used_disk_bytes)} of {gigabytes(metrics.total_disk_bytes)}"
            ),
            labelled("Used IPs", ", ".join(metrics.used_ips) or ABSENT),
            labelled("Load", f"{metrics.load_1:.2f}, {metrics.load_5:.2f}, {metrics.load_15:.2f}"),
            labelled("Network in", gigabytes(metrics.network_received_bytes)),
            labelled("Network out", gigabytes(metrics.network_sent_bytes)),
            labelled("Uptime", duration(metrics.uptime_secs)),
        ]
    )


def host_metrics_json(metrics: pb.HostMetrics) -> dict[str, Any]:
    return {
        "used_cpu_percent": metrics.used_cpu_percent,
        "used_memory_bytes": metrics.used_memory_bytes,
        "total_memory_bytes": metrics.total_memory_bytes,
        "used_disk_bytes": metrics.used_disk_bytes,
        "total_disk_bytes": metrics.total_disk_bytes,
        "load_1": metrics.load_1,
        "load_5": metrics.load_5,
        "load_15": metrics.load_15,
        "network_received_bytes": metrics.network_received_bytes,
        "network_sent_bytes": metrics.network_sent_bytes,
        "uptime_secs": metrics.uptime_secs,
        "used_ips": list(metrics.used_ips),
    }


# -- nodes --------------------------------------------------------------------------------------------------


def image(node: pb.Node) -> str:
    """`protocol/variant/version`."""
    return "/".join(part for part in (node.protocol, node.variant, node.version) if part)


def node_json(node: pb.Node, now: float) -> dict[str, Any]:
    return {
        "id": node.id,
        "name": node.name,
        "image": image(node),
        "protocol": node.protocol,
        "variant": node.variant,
        "version": node.version,
        "image_path": node.image_path or None,
        "status": node.status,
        "expected_status": node.expected_status,
        "ip": node.ip or None,
        "gateway": node.gateway or None,
        "started_at": node.started_at or None,
        "uptime_secs": max(0.0, now - node.started_at) if node.started_at else None,
        "runtime": node.runtime,
        "properties": dict(sorted(node.properties.items())),
        "tags": list(node.tags),
        "requirements": {"cpus": node.cpus, "memory_mb": node.memory_mb, "disk_gb": node.disk_gb},
    }


def node_table(nodes: Sequence[pb.Node], now: float) -> str:
    if not nodes:
        return "No nodes found."
    header = ("ID", "Name", "Image", "State", "IP Address", "Uptime  [h:m:s]")
    rows = (
        (
            node.id,
            node.name,
            image(node),
            status_word(node.status),
            node.ip or ABSENT,
            uptime(node.started_at, now),
        )
        for node in nodes
    )
    return table(header, rows)


def node_metrics_json(metrics: pb.NodeMetrics | None) -> dict[str, Any]:
    """Every metric, None when the plugin does not answer it (or the node gives none at all)."""
    fields = (
        "height",
        "block_age",
        "consensus",
        "apr",
        "jailed",
        "jailed_reason",
        "protocol_state",
        "protocol_health",
    )
    if metrics is None:
        return dict.fromkeys(fields)
    return {name: getattr(metrics, name) if metrics.HasField(name) else None for name in fields}


def node_info_text(
    node: pb.Node, metrics: pb.NodeMetrics | None, jobs: dict[str, JobInfo] | None, now: float
) -> str:
    """The layout of `bv node info`: the node, its metrics, its jobs, its requirements and tags."""
    values = node_metrics_json(metrics)
    lines = [
        labelled("Name", node.name),
        labelled("Id", node.id),
        labelled("Image", image(node)),
        labelled("Runtime", node.runtime or ABSENT),
        labelled("Status", status_word(node.status)),
        labelled("Ip", node.ip or ABSENT),
        labelled("Gateway", node.gateway or ABSENT),
        labelled("Uptime", uptime(node.started_at, now)),
        labelled("Block height", optional(values["height"])),
        labelled("Block age", optional(values["block_age"])),
        labelled("APR", optional(values["apr"])),
        labelled("Jailed", optional(values["jailed"])),
        labelled("Jailed reason", optional(values["jailed_reason"])),
        labelled("In consensus", optional(values["consensus"])),
        labelled("Protocol state", optional(values["protocol_state"])),
        labelled("Protocol health", optional(values["protocol_health"])),
    ]
    if jobs is None:
        lines.append(labelled("Jobs", ABSENT))
    else:
        lines.append("Jobs:" if jobs else labelled("Jobs", "none"))
        for name, info in jobs.items():
            lines.extend(_job_summary(node, name, info))
    lines.append(
        labelled("Requirements", f"cpu: {node.cpus}, memory: {node.memory_mb}MB, disk: {node.disk_gb}GB")
    )
    lines.append(labelled("Tags", ", ".join(node.tags) or ABSENT))
    return "\n".join(lines)


def _job_summary(node: pb.Node, name: str, info: JobInfo) -> list[str]:
    lines = [
        f"  {name}:",
        f"    {'Status:':<14}{job_status(info)}",
        f"    {'Restarts:':<14}{info.restart_count}",
    ]
    if info.progress is not None:
        lines.append(f"    {'Progress:':<14}{info.progress}")
    if info.logs:
        lines.append("    Logs:")
        lines.extend(f"      {log}" for log in info.logs[:INFO_LOG_LINES])
        if len(info.logs) > INFO_LOG_LINES:
            lines.append(f"      ... use `bv node job {node.name or node.id} info {name}` to get more")
    return lines


def node_info_json(
    node: pb.Node, metrics: pb.NodeMetrics | None, jobs: dict[str, JobInfo] | None, now: float
) -> dict[str, Any]:
    return {
        **node_json(node, now),
        "metrics": node_metrics_json(metrics),
        "jobs": None if jobs is None else [job_json(name, info) for name, info in jobs.items()],
    }


# -- jobs ---------------------------------------------------------------------------------------------------


def job_status(info: JobInfo) -> str:
    """`<UTC time>| <status>`, as the original shows when a job's status last changed."""
    return f"{info.timestamp.to_datetime():%Y-%m-%d %H:%M:%S %Z}| {info.status}"


def jobs_text(jobs: dict[str, JobInfo]) -> str:
    if not jobs:
        return ""
    return "\n".join([f"{'NAME':<20} STATUS", *(f"{name:<20} {info.status}" for name, info in jobs.items())])


def job_info_text(info: JobInfo) -> str:
    lines = [f"{'status:':<18}{job_status(info)}"]
    if info.progress is not None:
        lines.append(f"{'progress:':<18}{info.progress}")
    lines.append(f"{'restart_count:':<18}{info.restart_count}")
    lines.append(f"{'upgrade_blocking:':<18}{str(info.upgrade_blocking).lower()}")
    lines.append(f"{'logs:':<18}{'' if info.logs else '<empty>'}")
    lines.extend(info.logs)
    return "\n".join(lines)


def job_json(name: str, info: JobInfo) -> dict[str, Any]:
    """A job with its status as a word (`pending`, `running`, `finished`, `stopped`), the status as the
    operator reads it, and the finished job's exit code and message (None otherwise)."""
    finished = info.status.data if info.status.kind == "finished" else None
    pending = info.status.data if info.status.kind == "pending" else None
    return {
        "name": name,
        "status": info.status.kind,
        "status_text": str(info.status),
        "exit_code": getattr(finished, "exit_code", None),
        "message": getattr(finished, "message", None) or None,
        "waiting_for": list(getattr(pending, "waiting_for", [])),
        "timestamp": info.timestamp.to_datetime().isoformat(),
        "progress": progress_json(info.progress),
        "restart_count": info.restart_count,
        "upgrade_blocking": info.upgrade_blocking,
        "logs": list(info.logs),
    }


def progress_json(progress: JobProgress | None) -> dict[str, Any] | None:
    if progress is None:
        return None
    return {
        "total": progress.total,
        "current": progress.current,
        "message": progress.message,
        "bytes_total": progress.bytes_total,
        "bytes_current": progress.bytes_current,
        "bytes_per_second": progress.bytes_per_second,
    }
