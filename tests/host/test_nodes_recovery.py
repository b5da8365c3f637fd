"""Recovery's back-offs (spec §3.16): each failed attempt waits base · 2^failures before the next, and
after three failed starts the node is given up (expected status `failed`) until an operator acts."""

import time

import pytest

from blockvisor_core.config import HostConfig
from blockvisor_core.nodes.node import Node
from blockvisor_core.nodes.scheduler import Scheduler
from blockvisor_core.nodes.state import ExpectedStatus, NodeImage, NodeState, NodeStatus
from blockvisor_core.runtime import RuntimeStatus
from blockvisor_core.secrets import SecretStore


class BrokenRuntime:
    """A runtime whose nodes never start."""

    name = "process"
    starts = 0

    def status(self, node) -> RuntimeStatus:
        return RuntimeStatus.STOPPED

    def start(self, node) -> None:
        self.starts += 1
        raise RuntimeError("no cgroup for you")


async def never(task) -> None:
    raise AssertionError("nothing fires here")


@pytest.fixture
def node(tmp_path) -> Node:
    image = NodeImage(reference="x", folder=str(tmp_path), protocol="p", variant="v", version="1.0.0")
    state = NodeState(
        id="n-1",
        name="alpha",
        created_at=time.time(),
        image=image,
        runtime="process",
        ip="10.89.0.2",
        gateway="10.89.0.1",
        expected_status=ExpectedStatus.RUNNING,
    )
    folder = tmp_path / "n-1"
    folder.mkdir()
    scheduler = Scheduler(tmp_path / "tasks.json", never)
    return Node(state, folder, BrokenRuntime(), HostConfig(), scheduler, SecretStore(tmp_path / "secrets"))


def test_failed_starts_back_off_then_give_up(node):
    assert node.status() is NodeStatus.FAILED
    backoff = node.state.recovery.start
    for failures, wait in [(1, 15), (2, 30)]:
        before = time.time()
        node.recover()
        assert (backoff.failures, node.runtime.starts) == (failures, failures)
        assert before + wait <= backoff.not_before <= time.time() + wait
        # Within the back-off window nothing is tried.
        node.recover()
        assert node.runtime.starts == failures
        backoff.not_before = 0.0
    assert node.state.expected_status is ExpectedStatus.RUNNING
    node.recover()
    assert node.state.expected_status is ExpectedStatus.FAILED
    assert node.runtime.starts == 3
    # Given up: recovery leaves it alone, and the state file says so.
    backoff.not_before = 0.0
    node.recover()
    assert node.runtime.starts == 3
    assert '"expected_status": "failed"' in (node.dir / "state.json").read_text()
