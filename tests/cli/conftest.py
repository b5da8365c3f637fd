"""Fixtures of the `bv` tests: a sandboxed BV_ROOT, a fake daemon on its socket, and `bv` run in this
process with its output captured."""

import shutil
import tempfile
from pathlib import Path

import pytest
from cli_support import Result
from fake_daemon import FakeDaemon, serve

from blockvisor_core.cli.bv import run
from blockvisor_core.paths import Paths


@pytest.fixture
def paths(monkeypatch) -> Paths:
    """A fresh root, selected with BV_ROOT; short, as a Unix socket's path has at most 107 bytes."""
    root = Path(tempfile.mkdtemp(prefix="bv-", dir="/tmp"))
    monkeypatch.setenv("BV_ROOT", str(root))
    yield Paths.from_env()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def daemon(paths) -> FakeDaemon:
    """The fake daemon, serving the root's socket from this process."""
    fake = FakeDaemon(paths.root)
    server = serve(paths, fake)
    yield fake
    server.stop(None)


@pytest.fixture
def bv(capsys):
    """Run `bv` in this process: `bv("node", "ls")` -> Result(code, out, err)."""

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run(args)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return call
