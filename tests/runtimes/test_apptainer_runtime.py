"""The apptainer runtime's command lines (spec §4), against a recording fake `apptainer` on PATH; and a
real node's life where Apptainer is installed."""

import contextlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import attrs
import pytest
from runtime_support import node_spec, wait_until

from blockvisor_core.agent.node_ops import run_sh
from blockvisor_core.runtime import NodeNetwork, RuntimeStatus
from blockvisor_plugins.runtimes import apptainer as apptainer_module
from blockvisor_plugins.runtimes.apptainer import ApptainerRuntime

FAKE = Path(__file__).with_name("fake_apptainer.py")


@attrs.define
class Fake:
    bin: Path

    def calls(self) -> list[list[str]]:
        path = self.bin / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def forget(self) -> None:
        (self.bin / "calls.jsonl").unlink(missing_ok=True)

    def fail(self, command: str | None) -> None:
        if command is None:
            (self.bin / "fail").unlink(missing_ok=True)
        else:
            (self.bin / "fail").write_text(command)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """`apptainer` is the recording fake, first on PATH; its stand-in instances are killed afterwards."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    script = folder / "apptainer"
    script.write_text(f"#!{sys.executable}\n" + FAKE.read_text())
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    yield Fake(folder)
    for path in (folder / "instances").glob("*"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(json.loads(path.read_text())["pid"], signal.SIGKILL)


@pytest.fixture
def no_journal(monkeypatch, tmp_path):
    """The host has no systemd journal (as here): no journal bind."""
    monkeypatch.setattr(apptainer_module, "JOURNAL", tmp_path / "no-journal")


NETWORK = NodeNetwork(ip="10.20.30.40", gateway="10.20.30.1", prefix=24, bridge="bvbr0")


def test_a_nodes_life_in_commands(fake, no_journal, tmp_path):
    runtime = ApptainerRuntime()
    node = node_spec(
        tmp_path, None, container_uri="docker://example/node:1", cpus=2, memory_mb=512, network=NETWORK
    )
    node_dir, rootfs = node.node_dir, str(node.node_dir / "rootfs")
    assert runtime.available()

    runtime.create(node)
    assert fake.calls() == [["build", "--force", "--sandbox", rootfs, "docker://example/node:1"]]
    for folder in ("blockjoy", "run/systemd/journal", "var/lib/babel"):
        assert (node_dir / "rootfs" / folder).is_dir()
    assert (node_dir / "var/lib/babel/node_env").exists()
    assert (node_dir / "cgroups.toml").read_text() == (
        "[memory]\nlimit = 512000000\n\n[cpu]\nquota = 200000\nperiod = 100000\n"
    )

    fake.forget()
    runtime.create(node)  # built already: only inspected
    assert fake.calls() == [["inspect", "-d", "--json", rootfs]]

    fake.forget()
    runtime.start(node)
    assert fake.calls() == [
        ["instance", "list", "--json", node.id],  # running already? (spec §4.4: no pid file)
        [
            "instance", "run", "--containall", "--writable", "--pid-file", f"{node_dir}/apptainer.pid",
            "--bind", f"{node.data_dir}:/blockjoy", "--hostname", node.name.replace("_", "-"),
            "--no-mount", "home,cwd,tmp", "--apply-cgroups", f"{node_dir}/cgroups.toml",
            "--net", "--network", "bridge", "--network-args", "IP=10.20.30.40/24;GATEWAY=10.20.30.1",
            rootfs, node.id,
        ],
        ["exec", f"instance://{node.id}", "ping", "-c", "6", "-i", "0.25", "10.20.30.1"],
    ]  # fmt: skip
    assert runtime.status(node) is RuntimeStatus.RUNNING
    pid = int((node_dir / "apptainer.pid").read_text())

    access = runtime.node_access(node_dir)
    assert access.exec_prefix == (
        str(fake.bin / "apptainer"), "exec", "--ipc", "--cleanenv", "--userns", "--pid",
        "--env-file", f"{node_dir}/var/lib/babel/node_env", f"instance://{node.id}",
    )  # fmt: skip
    assert access.netns == Path(f"/proc/{pid}/ns/net")
    assert access.host_path("/blockjoy/x") == node.data_dir.resolve() / "x"
    assert access.host_path("/etc/hosts") == (node_dir / "rootfs/etc/hosts").resolve()
    assert run_sh(access, "echo through-exec", 10).stdout == "through-exec\n"

    fake.forget()
    runtime.stop(node, force=False)
    assert fake.calls() == [["instance", "stop", node.id]]
    assert runtime.status(node) is RuntimeStatus.STOPPED
    assert not (node_dir / "apptainer.pid").exists()
    assert runtime.node_access(node_dir).netns == Path("/proc/0/ns/net")

    runtime.delete(node)
    assert not (node_dir / "rootfs").exists() and not (node_dir / "cgroups.toml").exists()
    assert not (node_dir / "runtime").exists()


def test_host_network_without_limits_and_with_extra_args(fake, tmp_path, monkeypatch):
    journal = tmp_path / "journal"
    journal.mkdir()
    monkeypatch.setattr(apptainer_module, "JOURNAL", journal)
    image = tmp_path / "image"
    image.mkdir()
    runtime = ApptainerRuntime(extra_args=("--cleanenv",))
    node = node_spec(tmp_path, image)
    runtime.create(node)
    assert fake.calls()[0] == ["build", "--force", "--sandbox", str(node.node_dir / "rootfs"), str(image)]
    assert not (node.node_dir / "cgroups.toml").exists()
    fake.forget()
    runtime.start(node)
    assert fake.calls() == [
        ["instance", "list", "--json", node.id],
        [
            "instance", "run", "--containall", "--writable", "--pid-file", f"{node.node_dir}/apptainer.pid",
            "--bind", str(journal), "--bind", f"{node.data_dir}:/blockjoy",
            "--hostname", node.name.replace("_", "-"), "--no-mount", "home,cwd,tmp",
            "--cleanenv", str(node.node_dir / "rootfs"), node.id,
        ]
    ]  # fmt: skip
    assert runtime.node_access(node.node_dir).netns is None
    fake.forget()
    runtime.stop(node, force=True)
    assert fake.calls() == [["instance", "stop", "--force", node.id]]


def test_the_pid_comes_from_instance_list_when_the_pid_file_is_gone(fake, no_journal, tmp_path):
    runtime = ApptainerRuntime()
    node = node_spec(tmp_path, None, container_uri="docker://example/node:1")
    runtime.create(node)
    runtime.start(node)
    pid = (node.node_dir / "apptainer.pid").read_text()
    (node.node_dir / "apptainer.pid").unlink()
    fake.forget()
    assert runtime.status(node) is RuntimeStatus.RUNNING
    assert fake.calls() == [["instance", "list", "--json", node.id]]
    assert (node.node_dir / "apptainer.pid").read_text() == pid


def test_an_instance_that_died_is_failed(fake, no_journal, tmp_path):
    runtime = ApptainerRuntime()
    node = node_spec(tmp_path, None, container_uri="docker://example/node:1")
    runtime.create(node)
    runtime.start(node)
    os.kill(int((node.node_dir / "apptainer.pid").read_text()), signal.SIGKILL)
    wait_until(lambda: runtime.status(node) is RuntimeStatus.FAILED, "the node to show failed")
    runtime.stop(node, force=True)
    assert runtime.status(node) is RuntimeStatus.STOPPED


def test_a_failed_stop_is_an_error_only_while_the_instance_is_listed(fake, no_journal, tmp_path):
    runtime = ApptainerRuntime(stop_timeout=5)
    node = node_spec(tmp_path, None, container_uri="docker://example/node:1")
    runtime.create(node)
    runtime.start(node)
    fake.fail("instance stop")
    fake.forget()
    with pytest.raises(RuntimeError, match="apptainer instance stop"):
        runtime.stop(node, force=False)
    assert fake.calls() == [["instance", "stop", node.id], ["instance", "list", node.id]]
    assert runtime.status(node) is RuntimeStatus.RUNNING
    # The stop fails, yet the instance is gone from the list: only a warning.
    fake.fail("instance stop after")
    fake.forget()
    runtime.stop(node, force=False)
    assert fake.calls() == [["instance", "stop", node.id], ["instance", "list", node.id]]
    assert runtime.status(node) is RuntimeStatus.STOPPED


def test_errors_name_the_node_and_the_image(fake, no_journal, tmp_path):
    runtime = ApptainerRuntime()
    fake.fail("build")
    node = node_spec(tmp_path, None, container_uri="docker://example/missing:1")
    with pytest.raises(RuntimeError, match=f"failed to build '{node.id}' from `docker://example/missing:1`"):
        runtime.create(node)
    with pytest.raises(ValueError, match="needs a container_uri"):
        runtime.create(node_spec(tmp_path, None))


@pytest.mark.skipif(shutil.which("apptainer") is None, reason="Apptainer is not installed on this machine")
def test_a_real_apptainer_node(tmp_path):
    """A real instance from `BV_TEST_APPTAINER_URI` (default: busybox from Docker Hub), on the host's
    network: create, start, a command inside, stop, delete."""
    runtime = ApptainerRuntime(stop_timeout=30)
    uri = os.environ.get("BV_TEST_APPTAINER_URI", "docker://busybox:1.36")
    node = node_spec(tmp_path, None, container_uri=uri)
    runtime.create(node)
    try:
        runtime.start(node)
        assert runtime.status(node) is RuntimeStatus.RUNNING
        access = runtime.node_access(node.node_dir)
        result = run_sh(access, "echo inside > /blockjoy/marker; hostname", 60)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == node.name.replace("_", "-")
        assert (node.data_dir / "marker").read_text() == "inside\n"
        runtime.stop(node, force=False)
        assert runtime.status(node) is RuntimeStatus.STOPPED
    finally:
        runtime.delete(node)
