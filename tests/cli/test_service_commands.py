"""`bv start`, `bv stop`, `bv status`, with the fake daemon run as a process of its own for start and stop."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import bv_run

from blockvisor_core.cli import service

FAKE_DAEMON = Path(__file__).with_name("fake_daemon.py")

NOT_RUNNING = "blockvisord is not running (no socket at {socket}); start it with `bv start`"


@pytest.fixture
def fake_blockvisord(tmp_path, monkeypatch):
    """An executable named `blockvisord` that runs the fake daemon with `arguments`; `bv start` runs it."""

    def install(*arguments: str) -> Path:
        script = tmp_path / "blockvisord"
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(FAKE_DAEMON.parent)!r})\n"
            f"import fake_daemon\nfake_daemon.main({list(arguments)!r})\n"
        )
        script.chmod(0o755)
        monkeypatch.setattr(service, "daemon_command", lambda: [str(script)])
        return script

    return install


@pytest.fixture
def stop_leftovers(paths):
    """Stop, at the end of a test, a daemon the test failed to stop."""
    yield
    if (pid := service.daemon_pid(paths)) is not None:
        os.kill(pid, signal.SIGTERM)


def test_status_of_a_stopped_daemon(bv, paths):
    assert bv("status").out == "Service stopped\n"
    assert bv("status", "--format", "json").json == {"running": False, "info": None}


def test_status_of_a_running_daemon(bv, daemon, paths):
    info = f"blockvisord 0.1.0 - ok (root: {paths.root}, default runtime: process)"
    assert bv("status").out == f"Service running: {info}\n"
    assert bv("status", "--format", "json").json == {
        "running": True,
        "info": {"version": "0.1.0", "root": str(paths.root), "runtime": "process", "status": "ok"},
    }


def test_a_command_without_a_daemon_says_how_to_start_it(bv, paths):
    result = bv("node", "ls")
    assert (result.code, result.out) == (1, "")
    assert result.err == f"Error: {NOT_RUNNING.format(socket=paths.socket)}\n"


def test_the_console_script_without_a_daemon(paths):
    result = bv_run("node", "info", "eth-1")
    assert (result.code, result.out) == (1, "")
    assert result.err == f"Error: {NOT_RUNNING.format(socket=paths.socket)}\n"


def test_a_stale_socket_is_not_a_daemon(bv, paths):
    paths.socket.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(paths.socket))
    stale.close()
    result = bv("host", "metrics")
    assert result.err == (
        f"Error: blockvisord is not running (nothing answers at {paths.socket}); start it with `bv start`\n"
    )


def test_start_status_stop(bv, paths, fake_blockvisord, stop_leftovers):
    fake_blockvisord("--pid-file")
    result = bv("start")
    assert result.code == 0, result.err
    assert result.out == (
        f"blockvisor service started successfully: blockvisord 0.1.0 - ok (root: {paths.root}, "
        "default runtime: process)\n"
    )
    pid = int((paths.var / "blockvisord.pid").read_text())
    assert service.daemon_pid(paths) == pid
    assert bv("start", "--format", "json").json["status"] == "ok"  # already running: no second daemon
    assert bv("status").out.startswith("Service running: ")
    assert bv("stop").out == "blockvisor service stopped successfully\n"
    assert bv("status").out == "Service stopped\n"
    assert bv("stop").out == "blockvisor service is not running\n"


def test_stop_finds_a_daemon_without_pid_file_by_its_socket(bv, paths, stop_leftovers):
    process = subprocess.Popen([sys.executable, str(FAKE_DAEMON)], env=os.environ)
    deadline = time.monotonic() + 10
    while bv("status").out == "Service stopped\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert service.daemon_pid(paths) == process.pid
    assert bv("stop").out == "blockvisor service stopped successfully\n"
    assert process.wait(timeout=5) == 0


def test_a_daemon_that_fails_to_start(bv, paths, fake_blockvisord):
    log = paths.logs / "blockvisord.log"
    log.parent.mkdir(parents=True)
    log.write_text("INFO | an earlier run\n")
    fake_blockvisord("--fail")
    result = bv("start")
    assert result.code == 1
    assert result.err == (
        "Error: blockvisor service did not start: blockvisord exited with code 1: "
        f"ERROR | blockvisord cannot start: config broken: no such runtime `qemu` (see {log})\n"
    )
    fake_blockvisord("--crash")
    result = bv("start")
    assert result.err == (
        "Error: blockvisor service did not start: blockvisord exited with code 3 before writing its log "
        f"(see {log})\n"
    )


def test_config_init_creates_a_standalone_config_once(bv, paths):
    assert bv("config", "init").out == f"Host config {paths.config} created\n"
    assert '"mode": "standalone"' in paths.config.read_text()
    assert bv("config", "init", "--format", "json").json == {
        "path": str(paths.config),
        "created": False,
        "mode": "standalone",
    }


def test_config_init_checks_an_existing_config(bv, paths):
    paths.config.parent.mkdir(parents=True)
    paths.config.write_text('{"blockvisor_port": 70000}')
    result = bv("config", "init")
    assert result.code == 1
    assert result.err.startswith(f"Error: {paths.config}: blockvisor_port: expected an unsigned 16-bit")
    assert result.err.count("\n") == 1
    assert paths.config.read_text() == '{"blockvisor_port": 70000}'
