"""What the daemon costs on a busy host: many nodes under one `blockvisord`, idle CPU, memory, `bv` latency.

In a temporary root of its own (short, under /tmp: a node agent's socket lies deep inside it), writes a
trivial node image (one `sleep 100000` service, a constant height, a healthy status) and a host config
with the process runtime, starts the daemon as `bv start` does, creates and starts `--nodes` nodes of
the image through the daemon's socket (not measured), then measures:

- the daemon's CPU time (utime + stime of /proc/<pid>/stat) over `--window-secs` seconds in which nothing
  asks it anything, so only its own loops run: recovery every 15 s, protocol status and metrics every
  30 s plus up to 15 s of jitter (the default window covers two or three rounds of each), as % of one
  core; goal: under 5 % averaged. The busiest 5-second slice is shown too (a round's peak);
- the daemon's resident memory (VmRSS), and the total of the node agents (and of the job runners);
- the latency of `bv node list`, the real console script in a subprocess: median and p95 of
  `--list-runs` runs; goal: under 100 ms. For comparison, what the interpreter takes to start and
  import `bv`'s modules (before `bv` does anything), the floor of any `bv` command in this design (the
  interpreter starting and importing cyclopts, grpcio and the generated protobuf modules, nothing of
  ours), and the raw `GetNodes` RPC from this process. The project's modules are byte-compiled first,
  as a wheel's install does.

Everything is removed at the end, also on Ctrl-C or SIGTERM: the nodes deleted, the daemon stopped,
whatever is left of the root killed, the root removed.

    .venv/bin/python benchmarks/daemon.py [--nodes N] [--window-secs S] [--list-runs N] [--json]
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "host"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent import cpu_seconds  # noqa: E402
from host_support import agent_pid, kill_leftovers, runner_pid, write_config  # noqa: E402

from blockvisor_core.cli import service  # noqa: E402
from blockvisor_core.cli.client import DaemonClient  # noqa: E402
from blockvisor_core.paths import ROOT_VARIABLE, Paths  # noqa: E402

BV = Path(sys.executable).parent / "bv"
#: What `bv` costs before it does anything: the interpreter starting and importing the CLI's modules.
BV_IMPORTS = [sys.executable, "-c", "import blockvisor_core.cli.bv"]
#: The least any `bv` command costs in this design: the interpreter starting and importing the libraries
#: the design names for the CLI and its RPC (cyclopts, grpcio) and the generated protobuf modules.
FLOOR_IMPORTS = [
    sys.executable, "-c", "import cyclopts, grpc; import blockvisor_core.protos.blockvisor_pb2_grpc"
]  # fmt: skip
#: The project's packages, byte-compiled before `bv` is timed, as installing a wheel does (an editable
#: install does not, and PYTHONDONTWRITEBYTECODE keeps `bv` from caching what it compiles).
PACKAGES = ("babel_api", "blockvisor_core", "blockvisor_plugins")
SERVICE = "sleeper"

BABEL_YAML = """
version: 0.1.0
protocol_key: bench
visibility: development
plugin:
  loader: rhai
  path: plugin
rootfs:
  host: true
properties: []
variants:
  - key: bench-devnet
    sku_code: BEN-DEV-N
    min_cpu: 1
    min_memory_mb: 64
    min_disk_gb: 1
"""

PLUGIN = f"""
fn plugin_config() {{
    #{{ services: [#{{ name: "{SERVICE}", run_sh: "exec sleep 100000", shutdown_timeout_secs: 5 }}] }}
}}
fn height() {{ 42 }}
fn protocol_status() {{ #{{ state: "broadcasting", health: "healthy" }} }}
"""

#: Goals of the issue.
CPU_GOAL_PERCENT = 5.0
LIST_GOAL_MS = 100.0
#: Seconds of a slice of the CPU window, for the busiest one.
SLICE_SECS = 5.0
#: Seconds left after the last node started, before the window opens.
SETTLE_SECS = 5.0
#: Node starts at once (each spawns an agent and a runner, Python processes: CPU-bound on small hosts).
START_WORKERS = 8
RPC_RUNS = 100


def write_image(folder: Path) -> Path:
    """The trivial image `bench/bench-devnet/0.1.0` in `folder`."""
    (folder / "plugin").mkdir(parents=True)
    (folder / "babel.yaml").write_text(BABEL_YAML)
    (folder / "plugin" / "main.rhai").write_text(PLUGIN)
    return folder


def rss_mib(pid: int) -> float:
    """The resident memory of `pid` (VmRSS), MiB; 0 for a process that is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_nodes(paths: Paths, image: Path, count: int) -> list[str]:
    """Create and start `count` nodes of `image` in the process runtime, several at a time; their ids."""

    def create_and_start(index: int) -> str:
        with DaemonClient(paths.socket) as client:
            node = client.create_node(str(image), {}, f"bench-{index:03d}", [], "process")
            client.start_node(node.id)
            return node.id

    with ThreadPoolExecutor(START_WORKERS) as pool:
        return list(pool.map(create_and_start, range(count)))


def cpu_window(pid: int, seconds: float) -> tuple[float, float]:
    """The process's CPU over the next `seconds`, as % of one core: the average, and the busiest slice."""
    slices = []
    first = previous = cpu_seconds(pid)
    started = last = time.monotonic()
    while (now := time.monotonic()) - started < seconds:
        time.sleep(min(SLICE_SECS, seconds - (now - started)))
        used, now = cpu_seconds(pid), time.monotonic()
        slices.append((used - previous) / (now - last) * 100)
        previous, last = used, now
    return (previous - first) / (last - started) * 100, max(slices)


def latencies_ms(action: Callable[[], object], runs: int) -> dict[str, float]:
    """Median and p95 of `runs` timed calls of `action`, after one untimed call."""
    action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": statistics.median(samples), "p95_ms": statistics.quantiles(samples, n=20)[18]}


def bv(paths: Paths, *args: str) -> None:
    """Run the `bv` console script on the root, as an operator does; it must succeed."""
    subprocess.run(
        [str(BV), *args],
        env={**os.environ, ROOT_VARIABLE: str(paths.root)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def measure(paths: Paths, nodes: int, window: float, list_runs: int) -> dict:
    subprocess.run([sys.executable, "-m", "compileall", "-q", *PACKAGES], cwd=ROOT, check=True)
    image = write_image(paths.root / "image")
    write_config(paths, [])
    service.start_daemon(paths)
    daemon = service.daemon_pid(paths)
    started = time.monotonic()
    ids = start_nodes(paths, image, nodes)
    start_secs = time.monotonic() - started
    with DaemonClient(paths.socket) as client:
        statuses = [node.status for node in client.get_nodes()]
    if statuses.count("running") != nodes:
        sys.exit(f"not every node runs: {statuses.count('running')} of {nodes}")
    time.sleep(SETTLE_SECS)

    cpu_percent, peak_percent = cpu_window(daemon, window)
    agents = [rss_mib(agent_pid(paths, node_id)) for node_id in ids]
    runners = [rss_mib(runner_pid(paths, node_id, SERVICE)) for node_id in ids]
    with DaemonClient(paths.socket) as client:
        rpc = latencies_ms(client.get_nodes, RPC_RUNS)
    return {
        "nodes": nodes,
        "nodes_start_secs": start_secs,
        "window_secs": window,
        "daemon_cpu_percent": cpu_percent,
        "daemon_cpu_peak_slice_percent": peak_percent,
        "daemon_rss_mib": rss_mib(daemon),
        "agents_rss_mib": sum(agents),
        "runners_rss_mib": sum(runners),
        "bv_node_list": latencies_ms(lambda: bv(paths, "node", "list"), list_runs),
        "bv_imports": latencies_ms(lambda: subprocess.run(BV_IMPORTS, check=True), list_runs),
        "floor_imports": latencies_ms(lambda: subprocess.run(FLOOR_IMPORTS, check=True), list_runs),
        "get_nodes_rpc": rpc,
        "goals": {"daemon_cpu_percent": CPU_GOAL_PERCENT, "bv_node_list_ms": LIST_GOAL_MS},
    }


def clean_up(paths: Paths) -> None:
    """Delete the nodes and stop the daemon as an operator would; then kill whatever is left of the root
    and remove it. A Ctrl-C here skips to the killing."""
    try:
        if service.running_info(paths) is not None:
            with DaemonClient(paths.socket) as client:
                ids = [node.id for node in client.get_nodes()]
                with ThreadPoolExecutor(START_WORKERS) as pool:
                    list(pool.map(client.delete_node, ids))
            service.stop_daemon(paths)
    except (KeyboardInterrupt, Exception) as error:
        print(f"clean-up: {type(error).__name__}: {error}; killing what is left", file=sys.stderr)
    finally:
        kill_leftovers(paths.root)
        shutil.rmtree(paths.root, ignore_errors=True)


def report(figures: dict) -> None:
    nodes, window = figures["nodes"], figures["window_secs"]
    listing, imports, rpc = figures["bv_node_list"], figures["bv_imports"], figures["get_nodes_rpc"]
    floor = figures["floor_imports"]
    agents, runners = figures["agents_rss_mib"], figures["runners_rss_mib"]
    print(
        f"{nodes} nodes (trivial image, process runtime) under one daemon, started in "
        f"{figures['nodes_start_secs']:.0f} s"
    )
    print(
        f"daemon CPU over {window:g} s idle (recovery every 15 s, status and metrics every 30-45 s): "
        f"{figures['daemon_cpu_percent']:.2f} % of one core averaged, busiest {SLICE_SECS:g} s "
        f"{figures['daemon_cpu_peak_slice_percent']:.1f} % (goal: < {CPU_GOAL_PERCENT:g} % averaged)"
    )
    print(
        f"memory (RSS): daemon {figures['daemon_rss_mib']:.0f} MiB; "
        f"node agents {agents:.0f} MiB ({agents / nodes:.1f} each); "
        f"job runners {runners:.0f} MiB ({runners / nodes:.1f} each)"
    )
    print(
        f"bv node list: median {listing['median_ms']:.0f} ms, p95 {listing['p95_ms']:.0f} ms "
        f"(goal: < {LIST_GOAL_MS:g} ms); of which Python starting and importing bv: median "
        f"{imports['median_ms']:.0f} ms; the GetNodes RPC alone: median {rpc['median_ms']:.1f} ms, "
        f"p95 {rpc['p95_ms']:.1f} ms"
    )
    print(
        f"the floor of any bv command here (Python starting, importing cyclopts, grpc and the protobuf "
        f"modules): median {floor['median_ms']:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100, help="nodes to run (default 100)")
    parser.add_argument(
        "--window-secs", type=float, default=90, help="seconds the daemon's CPU is measured (default 90)"
    )
    parser.add_argument("--list-runs", type=int, default=20, help="timed `bv node list` runs (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()
    # Stopped by a timeout or a CI job's end as if by Ctrl-C: the clean-up runs either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    paths = Paths(Path(tempfile.mkdtemp(prefix="bv", dir="/tmp")))
    try:
        figures = measure(paths, options.nodes, options.window_secs, options.list_runs)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        sys.exit(130)
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            clean_up(paths)
    if options.json:
        print(json.dumps(figures))
    else:
        report(figures)


if __name__ == "__main__":
    main()
