"""Fixtures of the runtime tests: real bubblewrap sandboxes on a test bridge, cleaned up afterwards."""

import contextlib
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from runtime_support import node_spec, private_network

from blockvisor_plugins.runtimes import cgroups
from blockvisor_plugins.runtimes.bwrap import BwrapRuntime

CGROUP_PARENTS = [
    cgroups.ROOT / cgroups.GROUP,
    *(cgroups.ROOT / name / cgroups.GROUP for name in ("memory", "cpu")),
]


@pytest.fixture(scope="session")
def bwrap_ready():
    """Skip unless root (namespaces, bridges, cgroups); fail when bubblewrap is missing, as
    `make install` and `.ci/run` install it."""
    if os.geteuid() != 0:
        pytest.skip("the bwrap runtime needs root: network namespaces, bridges and cgroups")
    assert shutil.which("bwrap"), "bubblewrap is missing: run `make install` (it installs it with apt)"
    assert shutil.which("ip"), "ip is missing: install iproute2"
    existed = {parent for parent in CGROUP_PARENTS if parent.exists()}
    yield
    for parent in CGROUP_PARENTS:
        if parent not in existed and parent.exists():
            # Kept while it holds a real node's cgroup, or one a failed test left.
            with contextlib.suppress(OSError):
                parent.rmdir()


@pytest.fixture
def bwrap(bwrap_ready) -> BwrapRuntime:
    return BwrapRuntime(stop_timeout=5)


@pytest.fixture
def nodes(bwrap):
    """Node specs (`nodes(rootfs=..., **fields)`) in a short temporary folder (the agent's socket path
    must stay under 108 bytes); every one is deleted afterwards, which stops its sandbox and removes
    its namespace and cgroups."""
    base = Path(tempfile.mkdtemp(prefix="bv-nodes-"))
    made = []

    def make(rootfs: Path | None = None, **fields):
        made.append(node_spec(base, rootfs, **fields))
        return made[-1]

    yield make
    for node in made:
        bwrap.delete(node)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def bridge_octet(bwrap_ready):
    """The third octet of the tests' node subnet, 10.250.<octet>.0/24, on bridge `bvtest<octet>`, which
    is removed at the end."""
    octet = random.randrange(100, 250)
    yield octet
    subprocess.run(["ip", "link", "del", private_network(octet).bridge], capture_output=True)
