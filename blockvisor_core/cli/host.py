"""What `bv host info` tells about this machine, collected locally (no daemon needed)."""

import os
import platform
import shutil
import socket
from pathlib import Path
from typing import Any

from blockvisor_core.cli import render
from blockvisor_core.paths import Paths


def host_info(paths: Paths) -> dict[str, Any]:
    """Hostname, OS, kernel, CPUs, memory and the size of the disk that holds the daemon's state."""
    try:
        release = platform.freedesktop_os_release()
        os_name, os_version = release.get("NAME", platform.system()), release.get("VERSION_ID", "")
    except OSError:
        os_name, os_version = platform.system(), platform.release()
    return {
        "hostname": socket.gethostname(),
        "os_name": os_name,
        "os_version": os_version or None,
        "kernel": platform.release(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "disk_bytes": shutil.disk_usage(_nearest_existing(paths.var)).total,
    }


def host_info_text(info: dict[str, Any]) -> str:
    return "\n".join(
        [
            render.labelled("Hostname", info["hostname"]),
            render.labelled("OS name", info["os_name"]),
            render.labelled("OS version", render.optional(info["os_version"])),
            render.labelled("Kernel", info["kernel"]),
            render.labelled("CPU count", render.optional(info["cpu_count"])),
            render.labelled("Total mem", render.gigabytes(info["memory_bytes"])),
            render.labelled("Total disk", render.gigabytes(info["disk_bytes"])),
        ]
    )


def _nearest_existing(path: Path) -> Path:
    """`path`, or its closest ancestor that exists (the daemon may not have created it yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
