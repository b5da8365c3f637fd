"""What the host pays to talk to a Rhai protocol plugin.

Measures, as medians:
- `protocol_status()` through the Rhai plugin, the script asking JSON-RPC (answered at once by the fake
  engine) and parsing the answer; goal under 200 us;
- loading a 300-line plugin: compile, then the first `plugin_config()` (top level, evaluation,
  validation, save); goal under 20 ms;
- `default_init` of the richest example (`examples/plugin_config`) against the fake engine.

    .venv/bin/python benchmarks/plugin_calls.py [--rounds N] [--json]
"""

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from babel_api import HttpResponse, NodeEnv, load_rhai_plugin
from babel_api.defaults import default_init
from babel_api.testing import FakeEngine

RICHEST_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plugin_config"
NODE_ENV = NodeEnv(node_id="node-id", node_name="node name", node_variant="main", protocol_data_path="/data")
STATUS_SCRIPT = """
fn protocol_status() {
    let reply = run_jrpc(#{ host: "http://localhost:8545", method: "eth_syncing" }).expect(200);
    let height = parse_hex(reply.result.currentBlock);
    if height > 0 {
        #{ state: "broadcasting", health: "healthy" }
    } else {
        #{ state: "delinquent", health: "unhealthy" }
    }
}
"""


def large_plugin(services: int = 40) -> str:
    """A plugin of about 300 lines: constants per variant, helper functions, many services and jobs."""
    lines = [
        "const VARIANTS = #{",
        *[
            f'    net{i}: #{{ port: {8000 + i}, seeds: "seed{i}.example:26656", chain: "chain-{i}" }},'
            for i in range(40)
        ],
        "};",
        "const DATA = node_env().protocol_data_path;",
        "fn net() { global::VARIANTS[`net${node_env().node_variant.len() % 40}`] }",
        "fn service(i) {",
        "    let home = `${global::DATA}/${i}`;",
        "    #{",
        "        name: `node${i}`,",
        "        run_sh: `/bin/node --home=${home} --port=${net().port + i} --seeds=${net().seeds}`,",
        "        shutdown_timeout_secs: 120,",
        '        shutdown_signal: "SIGINT",',
        "        restart_config: #{ backoff_timeout_ms: 60000, backoff_base_ms: 1000, max_retries: 13 },",
        "        log_buffer_capacity_mb: 64,",
        "        log_timestamp: true,",
        "    }",
        "}",
        "fn plugin_config() {",
        "    let services = [];",
        "    let jobs = [];",
    ]
    for i in range(services):
        lines += [
            f"    services.push(service({i}));",
            f'    jobs.push(#{{ name: "init{i}", run_sh: "mkdir -p /data/{i}", one_time: true }});',
        ]
    lines += [
        "    #{",
        '        init: #{ commands: ["mkdir -p /data"], jobs: jobs },',
        "        services: services,",
        '        upload: #{ exclude: ["**/*.tmp"], compression: #{ ZSTD: 5 } },',
        '        scheduled: [ #{ name: "tick", schedule: "0 * * * * *", function: "tick" } ],',
        "    }",
        "}",
        'fn tick(param) { info("tick") }',
    ]
    lines += [f"fn helper{i}(x) {{ x * {i} + 1 }}" for i in range(300 - len(lines))]
    return "\n".join(lines) + "\n"


def median_us(action: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        action()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        status_dir, large_dir = Path(folder, "status"), Path(folder, "large")
        status_dir.mkdir()
        large_dir.mkdir()
        (status_dir / "main.rhai").write_text(STATUS_SCRIPT)
        (large_dir / "main.rhai").write_text(large_plugin())
        assert len((large_dir / "main.rhai").read_text().splitlines()) == 300

        answer = HttpResponse(200, '{"jsonrpc":"2.0","id":0,"result":{"currentBlock":"0x12d687"}}')
        status_plugin = load_rhai_plugin(status_dir, FakeEngine(node_env=NODE_ENV, run_jrpc=answer))
        assert status_plugin.protocol_status().state == "broadcasting"

        def load_large() -> None:
            plugin = load_rhai_plugin(large_dir, FakeEngine(node_env=NODE_ENV))
            plugin.reload_plugin_config()
            assert plugin.config is not None and len(plugin.config.services) == 40

        rich = load_rhai_plugin(RICHEST_EXAMPLE, FakeEngine(node_env=NODE_ENV))
        rich.reload_plugin_config()
        figures = {
            "protocol_status_us": median_us(status_plugin.protocol_status, options.rounds),
            "load_300_lines_ms": median_us(load_large, max(options.rounds // 20, 20)) / 1000,
            "default_init_us": median_us(
                lambda: default_init(FakeEngine(node_env=NODE_ENV), rich.config), options.rounds
            ),
        }
    if options.json:
        print(json.dumps(figures))
        return
    print(f"protocol_status() through Rhai:         {figures['protocol_status_us']:8.1f} us (goal < 200 us)")
    print(f"load a 300-line plugin + plugin_config: {figures['load_300_lines_ms']:8.2f} ms (goal < 20 ms)")
    print(f"default_init of examples/plugin_config: {figures['default_init_us']:8.1f} us")


if __name__ == "__main__":
    main()
