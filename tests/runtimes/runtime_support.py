"""Helpers of the runtime tests: node specs, a tiny root file system, waiting, a host HTTP server."""

import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from blockvisor_core.runtime import NodeNetwork, NodeSpec


def node_spec(base: Path, rootfs: Path | None = None, **fields) -> NodeSpec:
    """A node with a fresh id whose folder and data folder are under `base`."""
    node_id = str(uuid.uuid4())
    node_dir = base / node_id
    return NodeSpec(
        id=node_id,
        name=f"test_{node_id[:8]}",
        node_dir=node_dir,
        rootfs=rootfs,
        data_dir=node_dir / "data",
        **fields,
    )


def tiny_rootfs(target: Path) -> Path:
    """A root with nothing but the host's `dash` as `/bin/sh` and the libraries it loads."""
    dash = Path("/usr/bin/dash").resolve()
    files = [dash, *_libraries(dash)]
    for source in files:
        destination = target / str(source).lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    (target / "bin").mkdir(exist_ok=True)
    if not (target / "bin/sh").exists():
        (target / "bin/sh").symlink_to(dash)
    for folder in ("tmp", "etc", "root"):
        (target / folder).mkdir(exist_ok=True)
    os.chmod(target / "tmp", 0o1777)
    return target


def _libraries(executable: Path) -> list[Path]:
    output = subprocess.run(["ldd", str(executable)], capture_output=True, text=True, check=True).stdout
    return [Path(path) for path in re.findall(r"(/\S+)", output)]


def wait_until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def private_network(octet: int, host: int = 10) -> NodeNetwork:
    """A node address in the tests' private /24 (10.250.<octet>.0), on a bridge named after it."""
    return NodeNetwork(
        ip=f"10.250.{octet}.{host}", gateway=f"10.250.{octet}.1", prefix=24, bridge=f"bvtest{octet}"
    )


def serve_text(text: str, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server on the host answering every GET with `text`; `server.server_address` says where."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
