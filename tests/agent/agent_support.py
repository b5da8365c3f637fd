"""Helpers of the agent tests: a real `babel` process, a real local HTTP server, process checks."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import attrs
import pytest

from blockvisor_core.agent.client import AgentCallError, AgentClient
from blockvisor_core.sockets import answers

AGENT_START_SECS = 10


@attrs.define
class Agent:
    """A running agent process and a client connected to its socket."""

    node_dir: Path
    process: subprocess.Popen
    client: AgentClient

    @property
    def socket(self) -> Path:
        return self.node_dir / "babel.socket"

    def stop(self) -> None:
        """Stop the node's jobs (through the agent if it still runs) and the agent itself."""
        if self.process.poll() is None:
            with contextlib.suppress(AgentCallError):
                self.client.stop_all_jobs()
        self.client.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        kill_leftovers(self.node_dir)

    def runner_pid(self, job: str) -> int:
        return int((self.node_dir / "var/lib/babel/jobs" / job / "runner.pid").read_text())

    def script_pid(self, job: str) -> int:
        return int((self.node_dir / "var/lib/babel/jobs" / job / "script.pid").read_text())


def kill_leftovers(node_dir: Path) -> None:
    """Kill the job runners of `node_dir` (their command line names it) and their scripts' groups."""
    for pid_file in node_dir.glob("var/lib/babel/jobs/*/script.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and str(node_dir).encode() in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)


def agent_command(node_dir: Path) -> list[str]:
    """The command line that runs the agent of `node_dir` with the process runtime."""
    return [sys.executable, "-m", "blockvisor_core.agent", "--node-dir", str(node_dir), "--runtime=process"]


def start_agent(node_dir: Path) -> Agent:
    """Start `babel --node-dir DIR --runtime process` and wait until it answers on its socket."""
    node_dir.mkdir(parents=True, exist_ok=True)
    path = node_dir / "babel.socket"
    process = subprocess.Popen(agent_command(node_dir), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + AGENT_START_SECS
    while not answers(path):
        if process.poll() is not None:
            pytest.fail(f"the agent exited with {process.returncode} before serving")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the agent did not serve {path} within {AGENT_START_SECS} s")
        time.sleep(0.02)
    return Agent(node_dir, process, AgentClient(path, timeout=10))


def process_gone(pid: int) -> bool:
    """Whether `pid` no longer runs: absent from /proc, or a zombie waiting for its reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_until(condition, timeout: float = 5.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


@attrs.define
class Recorded:
    """One request the HTTP server received; header names lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@attrs.define
class HttpServer:
    """A local HTTP server on 127.0.0.1; `routes` maps a path to (status, body, delay in seconds)."""

    port: int = 0
    routes: dict[str, tuple[int, str, float]] = attrs.field(factory=dict)
    requests: list[Recorded] = attrs.field(factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def serve_http(state: HttpServer) -> ThreadingHTTPServer:
    """Start serving `state` on a free port (written to `state.port`) in a thread; shut it down when done."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.requests.append(Recorded(self.command, self.path, headers, self.rfile.read(length)))
            status, body, delay = state.routes.get(self.path, (404, "no route", 0.0))
            time.sleep(delay)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
