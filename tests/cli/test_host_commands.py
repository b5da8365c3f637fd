"""`bv host info|metrics`, `bv completion`, and what every command line shares: help, usage errors."""

import importlib.metadata
import os

import pytest
from cli_support import bv_run


def test_host_info_needs_no_daemon(bv, paths):
    result = bv("host", "info")
    assert result.code == 0
    labels = [line.split(":")[0] for line in result.out.splitlines()]
    assert labels == ["Hostname", "OS name", "OS version", "Kernel", "CPU count", "Total mem", "Total disk"]
    info = bv("h", "i", "--format", "json").json
    assert set(info) == {
        "hostname",
        "os_name",
        "os_version",
        "kernel",
        "cpu_count",
        "memory_bytes",
        "disk_bytes",
    }
    assert info["cpu_count"] == os.cpu_count()
    assert info["memory_bytes"] > 0
    assert info["disk_bytes"] > 0


def test_host_metrics(bv, daemon):
    assert bv("host", "metrics").out.splitlines() == [
        "Used cpu:        12.50%",
        "Used mem:        2.000 GB of 8.000 GB",
        "Used disk:       50.000 GB of 500.000 GB",
        "Used IPs:        10.0.0.2",
        "Load:            0.50, 0.25, 0.12",
        "Network in:      3.000 GB",
        "Network out:     1.000 GB",
        "Uptime:          01:01:01",
    ]
    metrics = bv("h", "m", "--format", "json").json
    assert metrics["total_memory_bytes"] == 8_000_000_000
    assert metrics["used_ips"] == ["10.0.0.2"]
    assert metrics["uptime_secs"] == 3661


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(bv, shell):
    result = bv("completion", shell)
    assert result.code == 0
    assert "bv" in result.out
    assert "node" in result.out
    assert len(result.out) > 500


def test_completion_of_node_names_asks_the_daemon(daemon):
    result = bv_run("__complete", "node", "info", "")
    assert result.code == 0, result.err
    assert "eth-1\t" in result.out
    assert "near-1\t" in result.out
    job_commands = bv_run("__complete", "node", "job", "eth-1", "").out.split("\n")
    assert {"list", "start", "stop", "skip", "cleanup", "info", "logs"} <= set(job_commands)


def test_help_and_usage_errors(bv):
    assert bv("--help").out.startswith("Usage: bv COMMAND")
    assert bv("--version").out == f"{importlib.metadata.version('blockvisor')}\n"
    for line in (
        ["node", "bogus"],
        ["node", "ls", "--format", "yaml"],
        ["node", "job", "x", "logs", "-n", "many"],
    ):
        result = bv(*line)
        assert result.code == 2
        assert result.out == ""
        assert result.err.startswith("Error: ") and result.err.count("\n") == 1, result.err
