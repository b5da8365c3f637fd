"""Helpers of the host tests: a real `blockvisord` in a sandboxed root, test images, process checks."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import grpc
import pytest

from blockvisor_core.config import HostConfig, save
from blockvisor_core.paths import Paths
from blockvisor_core.protos import blockvisor_pb2 as pb
from blockvisor_core.protos import blockvisor_pb2_grpc

DAEMON_START_SECS = 15.0

#: The test image's plugin: a one-time init job counting its runs in the data folder, a `sleep` service,
#: a task every second that saves the time, and height() through run_sh. `VERSION` and `SERVICE`
#: differ between the image versions.
PLUGIN = """
fn plugin_config() {
    let data = node_env().data_mount_point;
    #{
        init: #{
            commands: [INIT_COMMAND],
            jobs: [#{ name: "first_run", run_sh: `echo run >> ${data}/runs`, one_time: true }],
        },
        services: [#{ name: "SERVICE", run_sh: "exec sleep 3600", shutdown_timeout_secs: 5 }],
        scheduled: [#{ name: "tick", schedule: "* * * * * *", function: "tick" }],
    }
}
fn height() { let out = run_sh("echo 42").stdout; out.trim(); parse_int(out) }
fn protocol_status() { #{ state: "broadcasting", health: "healthy" } }
fn tick() { save_data(`tick ${system_time()}`); "" }
fn version() { "VERSION" }
fn greet(name) { `${node_params().greeting}, ${name}` }
"""

BABEL_YAML = """
version: VERSION
protocol_key: testproto
visibility: development
plugin:
  loader: rhai
  path: plugin
rootfs:
  host: true
properties:
  - key: greeting
    name: Greeting
    dynamic_value: false
    default_value: hello
    ui_type: !text
  - key: mode
    name: Mode
    dynamic_value: false
    default_value: fast
    ui_type: !enum
      - value: fast
        name: Fast
      - value: slow
        name: Slow
variants:
  - key: testproto-devnet
    sku_code: TST-DEV-N
    min_cpu: 1
    min_memory_mb: 64
    min_disk_gb: 1
"""


def write_image(folder: Path, version: str, service: str, init_command: str = "true") -> Path:
    """A test image of `testproto` at `version` whose service job is named `service`."""
    (folder / "plugin").mkdir(parents=True)
    (folder / "babel.yaml").write_text(BABEL_YAML.replace("VERSION", version))
    plugin = PLUGIN.replace("VERSION", version).replace("SERVICE", service)
    (folder / "plugin" / "main.rhai").write_text(plugin.replace("INIT_COMMAND", json.dumps(init_command)))
    return folder


def daemon_command() -> list[str]:
    """`blockvisord`, the console script installed next to this interpreter."""
    return [str(Path(sys.executable).parent / "blockvisord")]


@attrs.define
class Daemon:
    """A `blockvisord` process serving `paths.socket`, and a stub of its service."""

    paths: Paths
    process: subprocess.Popen | None = None
    channel: grpc.Channel | None = None
    stub: blockvisor_pb2_grpc.BlockvisorStub | None = None

    def start(self) -> None:
        env = {**os.environ, "BV_ROOT": str(self.paths.root), "BV_LOG_LEVEL": "DEBUG"}
        log = (self.paths.root / "daemon.out").open("ab")
        self.process = subprocess.Popen(daemon_command(), env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + DAEMON_START_SECS
        while not self.paths.socket.exists():
            if self.process.poll() is not None:
                pytest.fail(f"blockvisord exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"blockvisord did not serve within {DAEMON_START_SECS} s:\n{self.output()}")
            time.sleep(0.05)
        self.channel = grpc.insecure_channel(f"unix:{self.paths.socket}")
        self.stub = blockvisor_pb2_grpc.BlockvisorStub(self.channel)
        self.stub.Info(pb.Empty(), timeout=10, wait_for_ready=True)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the daemon and wait for it to end; its exit code."""
        if self.channel is not None:
            self.channel.close()
            self.channel = self.stub = None
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def output(self) -> str:
        return (self.paths.root / "daemon.out").read_text(errors="replace")

    def call(self, rpc: str, request, timeout: float = 60):
        return getattr(self.stub, rpc)(request, timeout=timeout)

    def node(self, ref: str) -> pb.Node:
        return self.call("GetNode", pb.NodeRef(id_or_name=ref))

    def status(self, ref: str) -> str:
        return self.node(ref).status

    def jobs(self, ref: str) -> dict[str, dict]:
        reply = self.call("GetNodeJobs", pb.NodeRef(id_or_name=ref))
        return {name: json.loads(text) for name, text in reply.info_json.items()}

    def error(self, rpc: str, request) -> grpc.RpcError:
        """The error the call ends with (the test fails if it succeeds)."""
        with pytest.raises(grpc.RpcError) as caught:
            self.call(rpc, request)
        return caught.value


def write_config(paths: Paths, image_dirs: list[Path]) -> None:
    """A standalone host config with the process runtime and the test images' folder."""
    config = HostConfig.default("test-host")
    save(paths, attrs.evolve(config, runtime="process", image_dirs=[str(folder) for folder in image_dirs]))


def runner_pid(paths: Paths, node_id: str, job: str) -> int:
    return int((paths.node_dir(node_id) / "var/lib/babel/jobs" / job / "runner.pid").read_text())


def agent_pid(paths: Paths, node_id: str) -> int:
    return int((paths.node_dir(node_id) / "babel.pid").read_text())


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(condition, timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(grpc.RpcError, OSError, ValueError):
            if condition():
                return
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def root_processes(root: Path) -> dict[int, str]:
    """The live processes of the sandbox `root` (this one aside), by pid, with their command lines: those
    naming the root on their command line (agents, job runners, services of the process runtime), run
    with `BV_ROOT` set to it (a daemon `bv start` started) or working in a folder inside it, and every
    descendant of those (what runs in a bwrap node, which names no host path)."""
    variable = f"BV_ROOT={root}\0".encode()
    commands: dict[int, str] = {}
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid in (0, os.getpid()) or not alive(pid):
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[pid] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
            commands[pid] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
            cwd = ""
            with contextlib.suppress(OSError):
                cwd = os.readlink(entry / "cwd")
            if (
                str(root).encode() in cmdline
                or cwd == str(root)
                or cwd.startswith(f"{root}/")
                or variable in (entry / "environ").read_bytes()
            ):
                found.add(pid)
    grown = True
    while grown:
        descendants = {pid for pid, parent in parents.items() if parent in found} - found
        found |= descendants
        grown = bool(descendants)
    return {pid: commands[pid] for pid in sorted(found)}


def kill_leftovers(root: Path) -> None:
    """Kill every process of the sandbox: job scripts by their process group, then `root_processes`."""
    for pid_file in root.glob("var/lib/blockvisor/nodes/*/var/lib/babel/jobs/*/script.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    for pid in root_processes(root):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
