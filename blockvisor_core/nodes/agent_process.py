"""The node agent (`babel`) process of one node, as the nodes manager runs it.

The agent is started detached, in a session of its own, so that a daemon that stops or dies leaves it
and the node's jobs running. Its pid is kept in `<node_dir>/babel.pid`; a daemon started again finds it
by that pid and its command line (a reused pid never matches), or by its command line alone.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from blockvisor_core.agent.runner import (
    JobFolder,
    is_runner,
    process_cmdline,
    runner_argv,
    wait_gone,
)
from blockvisor_core.agent.transport import SOCKET_NAME
from blockvisor_core.files import write_atomic
from blockvisor_core.paths import babel_dir
from blockvisor_core.sockets import answers

PID_FILE = "babel.pid"
LOG_FILE = "babel.log"
#: How long a starting agent may take to serve its socket, and a stopping one to exit after SIGTERM.
START_SECS = 15.0
STOP_SECS = 5.0


class AgentStartError(Exception):
    """The agent did not come up; the message carries the end of its log."""


class AgentProcess:
    """The agent of the node in `node_dir`, run for the runtime named `runtime`."""

    def __init__(self, node_dir: Path, runtime: str) -> None:
        self.node_dir = node_dir.absolute()
        self.runtime = runtime
        self.socket = self.node_dir / SOCKET_NAME
        self.pid_file = self.node_dir / PID_FILE
        self.log_file = self.node_dir / LOG_FILE
        self._child: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "blockvisor_core.agent",
            "--node-dir", str(self.node_dir), "--runtime", self.runtime,
        ]  # fmt: skip

    def pid(self) -> int | None:
        """The live agent's pid: from the pid file, else from the command lines of running processes."""
        if self._child is not None and self._child.poll() is not None:
            self._child = None
        argv = self.argv()
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.pid_file.read_text())
            if is_runner(pid, argv):
                return pid
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and is_runner(int(entry.name), argv):
                return int(entry.name)
        return None

    def answers(self) -> bool:
        """Whether something accepts connections on the node's agent socket."""
        return answers(self.socket)

    def start(self) -> int:
        """Start the agent (stopping one that no longer answers) and wait until it serves its socket."""
        pid = self.pid()
        if pid is not None and self.answers():
            return pid
        if pid is not None:
            self.stop()
        self.node_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._child = subprocess.Popen(
                self.argv(),
                cwd=self.node_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_atomic(self.pid_file, f"{self._child.pid}\n")
        deadline = time.monotonic() + START_SECS
        while not self.answers():
            if self._child.poll() is not None:
                raise AgentStartError(
                    f"the node agent exited with code {self._child.returncode}: {self._log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise AgentStartError(f"the node agent did not serve {self.socket} within {START_SECS:g} s")
            time.sleep(0.02)
        return self._child.pid

    def stop(self) -> None:
        """Stop the agent: SIGTERM, then SIGKILL after `STOP_SECS`. Its jobs keep running."""
        pid = self.pid()
        if pid is not None:
            argv = self.argv()

            def alive() -> bool:
                if self._child is not None:
                    self._child.poll()
                return is_runner(pid, argv)

            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, alive, STOP_SECS):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                wait_gone(pid, alive, STOP_SECS)
        if self._child is not None:
            self._child.poll()
            self._child = None
        self.pid_file.unlink(missing_ok=True)

    def kill_jobs(self) -> None:
        """Kill the job runners of the node and their commands at once, for a forced stop when the
        agent could not stop them: a runner that is gone is started again by the next agent."""
        prefix = runner_argv(self.node_dir, self.runtime, "")[1:-1]
        for entry in os.scandir("/proc"):
            cmdline = process_cmdline(int(entry.name)) if entry.name.isdigit() else None
            if not cmdline or cmdline[1:-1] != prefix:
                continue
            # Only the script of a live runner: a finished job's script pid may belong to anyone now.
            job = JobFolder(babel_dir(self.node_dir) / "jobs" / cmdline[-1])
            script = job.read_pid(job.script_pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if script is not None:
                    os.killpg(script, signal.SIGKILL)
                os.kill(int(entry.name), signal.SIGKILL)

    def _log_tail(self, lines: int = 5) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return f"(no log at {self.log_file})"
        return " | ".join(tail) or f"(nothing in {self.log_file})"
