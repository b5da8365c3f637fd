"""The host's metrics (spec §3.10), read from `/proc` and the file system holding the daemon's state."""

import os
import shutil
import time
from pathlib import Path

from blockvisor_core.protos import blockvisor_pb2 as pb

#: How long CPU use is sampled for.
CPU_SAMPLE_SECS = 0.2


def host_metrics(var: Path, used_ips: list[str]) -> pb.HostMetrics:
    """CPU, memory, disk (of `var`), load, network and uptime of the host; `used_ips` are the nodes'."""
    memory = _meminfo()
    disk = shutil.disk_usage(var if var.exists() else var.anchor)
    load = os.getloadavg()
    received, sent = _network_bytes()
    return pb.HostMetrics(
        used_cpu_percent=_cpu_percent(),
        used_memory_bytes=memory["MemTotal"] - memory.get("MemAvailable", memory["MemFree"]),
        total_memory_bytes=memory["MemTotal"],
        used_disk_bytes=disk.total - disk.free,
        total_disk_bytes=disk.total,
        load_1=load[0],
        load_5=load[1],
        load_15=load[2],
        network_received_bytes=received,
        network_sent_bytes=sent,
        uptime_secs=float(Path("/proc/uptime").read_text().split()[0]),
        used_ips=used_ips,
    )


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _cpu_percent() -> float:
    busy_before, total_before = _cpu_times()
    time.sleep(CPU_SAMPLE_SECS)
    busy, total = _cpu_times()
    return 100.0 * (busy - busy_before) / max(total - total_before, 1)


def _meminfo() -> dict[str, int]:
    """`/proc/meminfo` in bytes."""
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def _network_bytes() -> tuple[int, int]:
    """Bytes received and sent over every interface but loopback."""
    received = sent = 0
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() != "lo":
            fields = counters.split()
            received += int(fields[0])
            sent += int(fields[8])
    return received, sent
