"""Which HTTP client moves bulk bodies cheapest: httpx against the standard library's http.client (and
urllib3 when installed), PUT and GET of one object through presigned URLs on a loopback
`rclone serve s3`.

On loopback the server, not the client, bounds the wall-clock rate, so what tells the clients apart
is the client's own CPU time per GB, which on a busy host is taken from compression and the disk.
Each client does what suits it best: http.client PUTs with `sendfile` and GETs with `readinto` into
one buffer; httpx streams the file and iterates the raw body; urllib3 likewise.

    .venv/bin/python benchmarks/http_clients.py [--size-mb N] [--rounds N] [--json]
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "snapshots"))

from s3_server import S3Server

from blockvisor_plugins.snapshots.stores.s3 import S3Store

MiB = 2**20
PIECE = 4 * MiB


def http_client_put(url: str, path: Path, size: int) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc)
    connection.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    with path.open("rb") as file:
        connection.sock.sendfile(file)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    connection.close()


def http_client_get(url: str, size: int) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    buffer = memoryview(bytearray(PIECE))
    received = 0
    while count := response.readinto(buffer):
        received += count
    assert received == size
    connection.close()


def httpx_put(url: str, path: Path, size: int) -> None:
    with path.open("rb") as file:
        response = httpx.put(url, content=file, headers={"Content-Length": str(size)}, timeout=120)
    assert response.status_code == 200, response.status_code


def httpx_get(url: str, size: int) -> None:
    received = 0
    with httpx.stream("GET", url, timeout=120) as response:
        for piece in response.iter_raw(PIECE):
            received += len(piece)
    assert received == size


def clients() -> dict[str, tuple[Callable, Callable]]:
    found = {"http.client": (http_client_put, http_client_get), "httpx": (httpx_put, httpx_get)}
    try:
        import urllib3
    except ImportError:
        return found
    pool = urllib3.PoolManager()

    def put(url: str, path: Path, size: int) -> None:
        with path.open("rb") as file:
            response = pool.request("PUT", url, body=file, headers={"Content-Length": str(size)})
        assert response.status == 200, response.status

    def get(url: str, size: int) -> None:
        response = pool.request("GET", url, preload_content=False)
        assert sum(len(piece) for piece in response.stream(PIECE)) == size
        response.release_conn()

    found["urllib3"] = (put, get)
    return found


def measure(action: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds of `action`."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def compare(store: S3Store, key: str, put, get, source: Path, size: int, rounds: int) -> dict:
    """The best of `rounds` PUTs and GETs of one client."""
    put_wall, put_cpu = min(
        measure(lambda: put(store.presign_put(key, 600), source, size)) for _ in range(rounds)
    )
    get_wall, get_cpu = min(measure(lambda: get(store.presign_get(key, 600), size)) for _ in range(rounds))
    return {
        "put_mb_s": size / put_wall / 1e6,
        "put_client_cpu_s_per_gb": put_cpu / (size / 1e9),
        "get_mb_s": size / get_wall / 1e6,
        "get_client_cpu_s_per_gb": get_cpu / (size / 1e9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=256, help="object size in MiB (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds (default 3)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = args.size_mb * MiB
    work = Path(tempfile.mkdtemp(prefix="http-bench-"))
    server = S3Server(work / "s3")
    try:
        source = work / "object"
        source.write_bytes(os.urandom(size))
        store = S3Store.from_config(server.store_config())
        results = {
            name: compare(store, f"bench/{name}", put, get, source, size, args.rounds)
            for name, (put, get) in clients().items()
        }
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
        return
    for name, figures in results.items():
        put = f"PUT {figures['put_mb_s']:5.0f} MB/s, client CPU {figures['put_client_cpu_s_per_gb']:.2f} s/GB"
        get = f"GET {figures['get_mb_s']:5.0f} MB/s, client CPU {figures['get_client_cpu_s_per_gb']:.2f} s/GB"
        print(f"{name:12} {put} | {get}")


if __name__ == "__main__":
    main()
