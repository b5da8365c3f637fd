"""What the node agent costs: a command's round trip through its socket, and idle supervision.

Starts a real agent (`babel`, process runtime) in a temporary node folder and measures:
- `run_sh("true")` through the socket: median and p99 over `--calls` calls; goal: median under 10 ms;
- the agent's CPU time while it supervises 16 idle jobs (`sleep 1000`) for `--supervise-secs` seconds,
  as % of one core (utime + stime of /proc/<pid>/stat); goal: under 1 %.
Stops the jobs and the agent at the end.

    .venv/bin/python benchmarks/agent.py [--calls N] [--supervise-secs S] [--json]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babel_api.models import JobConfig, JobType, NodeEnv, RestartPolicy
from blockvisor_core.agent.client import AgentClient
from blockvisor_core.sockets import answers

IDLE_JOBS = 16


def start_agent(node_dir: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "blockvisor_core.agent",
        "--node-dir",
        str(node_dir),
        "--runtime",
        "process",
    ]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not answers(node_dir / "babel.socket"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit("the agent did not start")
        time.sleep(0.02)
    return process


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5), counted from the pid; the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_trips_ms(client: AgentClient, calls: int) -> list[float]:
    for _ in range(20):
        client.run_sh("true")
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        client.run_sh("true")
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def supervision_percent(client: AgentClient, pid: int, node_dir: Path, seconds: float) -> float:
    client.setup_babel(NodeEnv(data_mount_point=str(node_dir / "blockjoy")))
    idle = JobConfig(
        job_type=JobType.run_sh("sleep 1000"), restart=RestartPolicy.never(), shutdown_timeout_secs=5
    )
    for index in range(IDLE_JOBS):
        client.create_job(f"idle{index}", idle)
        client.start_job(f"idle{index}")
    deadline = time.monotonic() + 30
    while any(info.status.kind != "running" for info in client.get_jobs().values()):
        if time.monotonic() > deadline:
            sys.exit("the idle jobs did not all start within 30 s")
        time.sleep(0.1)
    time.sleep(1)  # let the starts settle before measuring
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--supervise-secs", type=float, default=60)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        node_dir = Path(folder, "node")
        node_dir.mkdir()
        agent = start_agent(node_dir)
        client = AgentClient(node_dir / "babel.socket", timeout=60)
        try:
            samples = round_trips_ms(client, options.calls)
            percent = supervision_percent(client, agent.pid, node_dir, options.supervise_secs)
        finally:
            try:
                client.stop_all_jobs()
            finally:
                client.close()
                agent.send_signal(signal.SIGTERM)
                agent.wait(timeout=30)
    figures = {
        "run_sh_median_ms": statistics.median(samples),
        "run_sh_p99_ms": statistics.quantiles(samples, n=100)[98],
        "idle_jobs": IDLE_JOBS,
        "supervision_secs": options.supervise_secs,
        "supervision_cpu_percent": percent,
    }
    if options.json:
        print(json.dumps(figures))
        return
    print(
        f"run_sh('true') round trip: median {figures['run_sh_median_ms']:.2f} ms, "
        f"p99 {figures['run_sh_p99_ms']:.2f} ms (goal: median < 10 ms)"
    )
    print(
        f"supervising {IDLE_JOBS} idle jobs for {options.supervise_secs:g} s: "
        f"{percent:.3f} % of one core (goal < 1 %)"
    )


if __name__ == "__main__":
    main()
