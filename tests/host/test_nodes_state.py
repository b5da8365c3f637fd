"""A node's state file (written atomically, read back whole or refused naming the field) and the
addresses new nodes take."""

import json
import stat

import attrs
import pytest

from blockvisor_core.config import HostConfig, NetConf
from blockvisor_core.nodes.addresses import allocate
from blockvisor_core.nodes.errors import WrongState
from blockvisor_core.nodes.state import ExpectedStatus, NodeImage, NodeState, StateError, Upgrade

IMAGE = NodeImage(
    reference="testproto/testproto-devnet",
    folder="/images/v1",
    protocol="testproto",
    variant="testproto-devnet",
    version="0.1.0",
    plugin={"loader": "rhai", "path": "plugin", "entry_point": None},
)


def state(**changes) -> NodeState:
    base = NodeState(
        id="n-1",
        name="alpha",
        created_at=1700000000.5,
        image=IMAGE,
        properties={"greeting": "hi"},
        runtime="process",
        ip="10.89.0.2",
        gateway="10.89.0.1",
    )
    return attrs.evolve(base, **changes)


def test_the_state_file_reads_back_as_written(tmp_path):
    written = state(
        expected_status=ExpectedStatus.RUNNING,
        started_at=1700000100.25,
        initialized=True,
        tags=["a", "b"],
        upgrade=Upgrade(previous=IMAGE, previous_properties={}, previous_initialized=True, was_running=True),
    )
    written.recovery.start.failures = 2
    written.save(tmp_path)
    assert NodeState.load(tmp_path) == written
    assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]
    assert json.loads((tmp_path / "state.json").read_text())["expected_status"] == "running"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "JSONDecodeError"),
        ('{"id": 1}', "id: expected a string, got 1"),
        ("[]", "expected a map"),
    ],
)
def test_a_bad_state_file_is_refused_naming_the_file_and_the_field(tmp_path, content, problem):
    (tmp_path / "state.json").write_text(content)
    with pytest.raises(StateError) as caught:
        NodeState.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'state.json'}: ")
    assert problem in str(caught.value)


def test_a_missing_field_is_named(tmp_path):
    value = state().to_json()
    del value["image"]["version"]
    (tmp_path / "state.json").write_text(json.dumps(value))
    with pytest.raises(StateError, match=r"image\.version: missing required field"):
        NodeState.load(tmp_path)


def test_addresses_come_from_the_node_network_by_default():
    config = HostConfig.default("host")
    first = allocate(config, set())
    assert (first.ip, first.gateway, first.prefix, first.bridge) == ("10.89.0.2", "10.89.0.1", 24, "bvbr0")
    assert not first.host_network
    assert allocate(config, {"10.89.0.2", "10.89.0.3"}).ip == "10.89.0.4"


def test_addresses_come_from_the_hosts_pool_when_it_has_one():
    net = NetConf(
        gateway_ip="192.168.1.1",
        host_ip="192.168.1.2",
        prefix=24,
        available_ips=["192.168.1.10", "192.168.1.11"],
    )
    config = attrs.evolve(HostConfig.default("host"), net_conf=net, iface="br0")
    chosen = allocate(config, {"192.168.1.10"})
    assert (chosen.ip, chosen.gateway, chosen.prefix, chosen.bridge) == (
        "192.168.1.11",
        "192.168.1.1",
        24,
        "br0",
    )
    with pytest.raises(WrongState, match="no free IP address left in the host's pool"):
        allocate(config, {"192.168.1.10", "192.168.1.11"})


def test_nodes_on_the_host_network_share_its_address():
    net = NetConf(gateway_ip="192.168.1.1", host_ip="192.168.1.2", prefix=24)
    config = attrs.evolve(HostConfig.default("host"), net_conf=net, host_network=True)
    assert allocate(config, {"192.168.1.2"}).ip == "192.168.1.2"
    assert allocate(config, set()).host_network
    assert allocate(HostConfig(host_network=True), set()).ip == "127.0.0.1"
