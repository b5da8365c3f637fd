"""The bwrap runtime's life cycle with real sandboxes: create, start, status, stop, delete."""

import os
import signal
import subprocess
import tarfile
import time

import pytest
from runtime_support import private_network, tiny_rootfs, wait_until

from blockvisor_core.agent.node_ops import run_sh
from blockvisor_core.runtime import RuntimeStatus
from blockvisor_plugins.runtimes import network
from blockvisor_plugins.runtimes.bwrap import BwrapRuntime
from blockvisor_plugins.runtimes.bwrap_enter import NOT_RUNNING
from blockvisor_plugins.runtimes.rootfs import RootfsError
from blockvisor_plugins.runtimes.state import is_alive, read_state


def init_pid(node) -> int:
    return read_state(node.node_dir, "bwrap")["init"]["pid"]


def test_life_cycle_from_a_folder(bwrap, nodes, tmp_path):
    image = tiny_rootfs(tmp_path / "image")
    node = nodes(image)
    assert bwrap.status(node) is RuntimeStatus.STOPPED
    bwrap.create(node)
    assert (node.node_dir / "rootfs/bin/sh").exists()
    assert (node.node_dir / "rootfs/blockjoy").is_dir()
    assert bwrap.status(node) is RuntimeStatus.STOPPED

    bwrap.start(node)
    assert bwrap.status(node) is RuntimeStatus.RUNNING
    pid = init_pid(node)
    bwrap.start(node)  # already running: nothing happens
    assert init_pid(node) == pid

    access = bwrap.node_access(node.node_dir)
    result = run_sh(access, "echo written > /etc/node-file; echo $$", 10)
    assert result.exit_code == 0, result.stderr
    # The node writes its own copy of the image, never the image.
    assert (node.node_dir / "rootfs/etc/node-file").read_text() == "written\n"
    assert not (image / "etc/node-file").exists()

    bwrap.stop(node, force=False)
    assert bwrap.status(node) is RuntimeStatus.STOPPED
    assert not is_alive(pid)
    bwrap.delete(node)
    assert not (node.node_dir / "rootfs").exists()
    assert not (node.node_dir / "runtime").exists()


def test_life_cycle_from_a_tarball(bwrap, nodes, tmp_path):
    tarball = tmp_path / "image.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tiny_rootfs(tmp_path / "image"), arcname=".")
    node = nodes(tarball)
    bwrap.create(node)
    bwrap.start(node)
    access = bwrap.node_access(node.node_dir)
    assert run_sh(access, "echo from-tar > /blockjoy/out", 10).exit_code == 0
    assert (node.data_dir / "out").read_text() == "from-tar\n"
    assert oct((node.node_dir / "rootfs/tmp").stat().st_mode & 0o7777) == "0o1777"
    bwrap.stop(node, force=True)
    assert bwrap.status(node) is RuntimeStatus.STOPPED


def test_a_tarball_with_a_member_outside_is_refused(bwrap, nodes, tmp_path):
    tarball = tmp_path / "evil.tar"
    with tarfile.open(tarball, "w") as archive:
        member = tarfile.TarInfo("../../escaped")
        member.size = 0
        archive.addfile(member)
    node = nodes(tarball)
    with pytest.raises(RootfsError, match="escaped"):
        bwrap.create(node)
    assert not (node.node_dir / "rootfs").exists()
    assert not (node.node_dir / "rootfs.partial").exists()
    assert not (tmp_path / "escaped").exists()


def test_stop_ends_every_process_of_the_node(nodes):
    bwrap = BwrapRuntime(stop_timeout=1)
    node = nodes(None)
    bwrap.create(node)
    bwrap.start(node)
    access = bwrap.node_access(node.node_dir)
    # One service shuts down on SIGTERM (and says so); another ignores it and is killed after the timeout.
    polite = "trap 'echo terminated > /blockjoy/polite; exit 0' TERM; while :; do sleep 0.1; done"
    stubborn = "trap '' TERM; while :; do sleep 0.1; done"
    services = [
        subprocess.Popen(
            access.command(["sh", "-c", body]),
            env=access.env,
            cwd=access.host_path("/"),
            start_new_session=True,
        )
        for body in (polite, stubborn)
    ]
    try:
        wait_until(lambda: len(_namespace_pids(init_pid(node))) >= 6, "the services to run")
        members = _namespace_pids(init_pid(node))
        started = time.monotonic()
        bwrap.stop(node, force=False)
        assert 1 <= time.monotonic() - started < 4
        assert not any(is_alive(pid) for pid in members)
        assert (node.data_dir / "polite").read_text() == "terminated\n"
        assert all(service.wait(5) != 0 for service in services[1:])
    finally:
        for service in services:
            if service.poll() is None:
                service.kill()
            service.wait()
    assert bwrap.status(node) is RuntimeStatus.STOPPED


def _namespace_pids(pid: int) -> list[int]:
    namespace = os.readlink(f"/proc/{pid}/ns/pid")
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                found.append(int(entry))
        except OSError:
            continue
    return found


def test_a_sandbox_that_died_is_failed_and_refuses_commands(bwrap, nodes):
    node = nodes(None)
    bwrap.create(node)
    bwrap.start(node)
    access = bwrap.node_access(node.node_dir)
    os.kill(init_pid(node), signal.SIGKILL)
    wait_until(lambda: bwrap.status(node) is RuntimeStatus.FAILED, "the node to show failed")
    result = run_sh(access, "echo should-not-run", 10)
    assert result.exit_code == NOT_RUNNING
    assert "not running" in result.stderr
    bwrap.stop(node, force=True)
    assert bwrap.status(node) is RuntimeStatus.STOPPED
    bwrap.start(node)
    assert bwrap.status(node) is RuntimeStatus.RUNNING


def test_a_stopped_node_refuses_commands_and_has_no_network(bwrap, nodes, bridge_octet):
    node = nodes(None, network=private_network(bridge_octet, 20))
    bwrap.create(node)
    bwrap.start(node)
    assert network.netns_path(node.id).exists()
    bwrap.stop(node, force=True)
    access = bwrap.node_access(node.node_dir)
    assert run_sh(access, "echo should-not-run", 10).exit_code == NOT_RUNNING
    # The agent would fail to enter the namespace rather than use the host's network.
    assert access.netns == network.netns_path(node.id)
    assert not access.netns.exists()
    assert not network.link_exists(network.veth_name(node.id))
