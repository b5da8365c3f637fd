"""Fixtures of the host tests: a sandboxed root with a host config and two versions of a test image,
and a real `blockvisord` serving it."""

import shutil
import tempfile
from pathlib import Path

import attrs
import pytest
from host_support import Daemon, kill_leftovers, write_config, write_image

from blockvisor_core.paths import Paths


@attrs.frozen
class Sandbox:
    paths: Paths
    v1: Path
    v2: Path


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh root (short: a Unix socket's path has at most 107 bytes) holding the host config and the
    images `testproto/testproto-devnet` 0.1.0 (service `sleeper`) and 0.2.0 (service `sleeper2`)."""
    root = Path(tempfile.mkdtemp(prefix="bv", dir="/tmp"))
    paths = Paths(root)
    images = root / "images"
    sandbox = Sandbox(
        paths,
        write_image(images / "v1", "0.1.0", "sleeper"),
        write_image(images / "v2", "0.2.0", "sleeper2"),
    )
    write_config(paths, [images])
    yield sandbox
    kill_leftovers(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def daemon(sandbox) -> Daemon:
    """`blockvisord` serving the sandbox; stopped (SIGTERM) at teardown if still running."""
    daemon = Daemon(sandbox.paths)
    daemon.start()
    yield daemon
    if daemon.process.poll() is None:
        daemon.stop()
