"""Fixtures of the end-to-end tests: a fresh BlockVisor root selected with BV_ROOT, for `bv` run as an
operator runs it, and left with nothing running and nothing on disk.

The helpers of the host and `bv` tests (a daemon's processes, waiting, `bv` as a subprocess, a host
HTTP server) are reused from their folders, put on `sys.path` here.
"""

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
for folder in ("host", "cli", "runtimes"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from cli_support import bv_run  # noqa: E402
from host_support import kill_leftovers  # noqa: E402

from blockvisor_core.paths import Paths  # noqa: E402


@pytest.fixture
def root(monkeypatch) -> Paths:
    """A fresh root, short (a node agent's socket lies deep inside, and a Unix socket's path has at most
    107 bytes), selected with BV_ROOT for every `bv` the test runs. At the end, whatever the test left is
    removed as an operator would (nodes deleted, daemon stopped), then killed and deleted regardless."""
    folder = Path(tempfile.mkdtemp(prefix="bv", dir="/tmp"))
    monkeypatch.setenv("BV_ROOT", str(folder))
    yield Paths(folder)
    if (folder / "var/lib/blockvisor/nodes").is_dir() and any(
        path.is_dir() for path in (folder / "var/lib/blockvisor/nodes").iterdir()
    ):
        # Best effort: a bwrap node's network is only torn down by deleting the node.
        with contextlib.suppress(Exception):
            bv_run("start", timeout=30)
            bv_run("node", "delete", "--all", "--yes", timeout=90)
    with contextlib.suppress(Exception):
        bv_run("stop", timeout=30)
    kill_leftovers(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def bwrap() -> str:
    """The name of the bwrap runtime, which must be installed: its tests fail rather than skip without
    it, as `make test` installs it."""
    if shutil.which("bwrap") is None:
        pytest.fail(
            "bwrap (bubblewrap) is not installed: `make test` installs it (apt-get install bubblewrap)"
        )
    return "bwrap"


@pytest.fixture(params=["process", "bwrap"])
def runtime(request) -> str:
    """Each runtime that runs nodes on a plain host."""
    return request.getfixturevalue("bwrap") if request.param == "bwrap" else request.param
