"""Tests of the jobs example: a script-defined `init()` that creates, starts, inspects and stops jobs and
manages scheduled tasks by hand."""

from pathlib import Path

import pytest
import rhai

from babel_api import (
    HttpResponse,
    JobConfig,
    JobStatus,
    JobType,
    NodeEnv,
    NodeHealth,
    PluginError,
    PosixSignal,
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
    ShResponse,
)
from babel_api.testing import FakeEngine

PLUGIN_DIR = Path(__file__).parents[1]

NODE_ENV = NodeEnv(
    node_id="node_id",
    node_name="node name",
    node_variant="main",
    protocol_data_path="/blockjoy/protocol_data",
)

INIT_DATA_DIR = JobConfig(
    job_type=JobType.run_sh("mkdir -p /blockjoy/protocol_data/chain"),
    restart=RestartPolicy.never(),
    shutdown_timeout_secs=10,
    shutdown_signal=PosixSignal.SIGTERM,
    run_as="root",
    log_buffer_capacity_mb=8,
    log_timestamp=False,
    use_protocol_data=True,
    one_time=True,
)
FETCH_GENESIS = JobConfig(
    job_type=JobType.run_sh(
        "curl -fsSL https://example.org/genesis.json -o /blockjoy/protocol_data/chain/genesis.json"
    ),
    restart=RestartPolicy.on_failure(RestartConfig(60000, 1000, 5)),
    needs=["init_data_dir"],
    log_timestamp=True,
)
WARM_CACHE = JobConfig(
    job_type=JobType.run_sh("cat /blockjoy/protocol_data/chain/* > /dev/null"),
    restart=RestartPolicy.never(),
    use_protocol_data=True,
)
NODE = JobConfig(
    job_type=JobType.run_sh("/usr/bin/node start --home=/blockjoy/protocol_data --network=main"),
    restart=RestartPolicy.always(RestartConfig(300000, 500, None)),
    shutdown_timeout_secs=120,
    shutdown_signal=PosixSignal.SIGINT,
    needs=["fetch_genesis"],
    wait_for=["warm_cache"],
    run_as="node_user",
    log_buffer_capacity_mb=256,
    log_timestamp=True,
    use_protocol_data=True,
)


def permissive_engine() -> FakeEngine:
    """The spec's permissive dummy engine: `get_jobs` answers no job, one arbitrary node property."""
    return FakeEngine(
        node_env=NODE_ENV,
        node_params={"arbitrary-text-property": "testing_value"},
        jobs_info={},
    )


@pytest.mark.parametrize("script", sorted(PLUGIN_DIR.glob("*.rhai")), ids=lambda path: path.name)
def test_rhai_syntax(script):
    rhai.Engine().compile_file(script)


def test_jobs(rhai_plugin):
    rhai_plugin(PLUGIN_DIR, engine=permissive_engine()).init()


def test_init_creates_and_starts_every_job(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()

    assert fake_engine.created == [
        ("init_data_dir", INIT_DATA_DIR),
        ("fetch_genesis", FETCH_GENESIS),
        ("warm_cache", WARM_CACHE),
        ("node", NODE),
    ]
    assert fake_engine.started == ["init_data_dir", "fetch_genesis", "warm_cache", "node"]
    assert fake_engine.stopped == []
    # The missing TESTING property adds nothing; the summary lists the jobs in name order.
    assert fake_engine.logs == [
        ("info", "TESTING="),
        ("info", "fetch_genesis: pending\ninit_data_dir: pending\nnode: pending\nwarm_cache: pending"),
    ]
    # No plugin_config(): the host has no default init or upload to offer.
    assert fake_engine.saved_configs == []
    assert "upload" not in plugin.capabilities()


def test_init_registers_the_tasks(rhai_plugin, fake_engine):
    fake_engine.tasks["legacy_compaction"] = ("0 0 4 * * *", "compact", "")
    rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).init()

    assert fake_engine.tasks == {
        "health_check": ("0 */5 * * * *", "check_health", ""),
        "compaction": ("0 0 3 * * * *", "compact", "full"),
    }


def test_init_stops_the_job_of_an_older_version(rhai_plugin, fake_engine):
    fake_engine.create_job(
        "legacy_indexer", JobConfig(job_type=JobType.run_sh("indexer"), restart=RestartPolicy.never())
    )
    fake_engine.start_job("legacy_indexer")
    rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).init()

    assert fake_engine.stopped == ["legacy_indexer"]


def test_init_with_a_testing_property(rhai_plugin, fake_engine):
    rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV, node_params={"TESTING": "yes"}).init()
    assert fake_engine.logs[0] == ("info", "TESTING=yes")


def test_jobs_summary(rhai_plugin, fake_engine):
    fake_engine.jobs_info = {
        "node": JobStatus.running(),
        "fetch_genesis": JobStatus.finished(0),
        "warm_cache": JobStatus.stopped(),
    }
    summary = rhai_plugin(PLUGIN_DIR).call_custom_method("jobs_summary", "")
    assert summary == "fetch_genesis: finished\nnode: running\nwarm_cache: stopped"


def test_check_health_restarts_a_finished_node(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()
    fake_engine.started.clear()

    fake_engine.jobs_info = {"node": JobStatus.running()}
    assert plugin.call_custom_method("check_health", "") == "ok"
    assert fake_engine.started == []

    fake_engine.jobs_info = {"node": JobStatus.finished(137, "killed")}
    assert plugin.call_custom_method("check_health", "") == "restarted"
    assert fake_engine.started == ["node"]
    assert fake_engine.logs[-1] == ("warn", "node finished (exit code 137), starting it again")


def test_compact_stops_and_restarts_the_node(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()
    fake_engine.started.clear()

    assert plugin.call_custom_method("compact", "full") == "compacted (full)"
    assert fake_engine.stopped == ["node"]
    assert fake_engine.sh_calls == [
        ('/usr/bin/node compact --home=/blockjoy/protocol_data --kind="full"', 3600)
    ]
    assert fake_engine.started == ["node"]


def test_compact_leaves_the_node_stopped_when_compaction_fails(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()
    fake_engine.started.clear()
    fake_engine.on_run_sh = ShResponse(2, "", "database locked")

    with pytest.raises(PluginError, match="unexpected exit_code: 2"):
        plugin.call_custom_method("compact", "full")
    assert fake_engine.started == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (JobStatus.pending(["fetch_genesis"]), ProtocolStatus("starting", NodeHealth.NEUTRAL)),
        (JobStatus.stopped(), ProtocolStatus("stopped", NodeHealth.UNHEALTHY)),
        (JobStatus.finished(1, "crashed"), ProtocolStatus("finished", NodeHealth.UNHEALTHY)),
    ],
)
def test_protocol_status_of_a_node_not_running(rhai_plugin, fake_engine, status, expected):
    fake_engine.jobs_info = {"node": status}
    assert rhai_plugin(PLUGIN_DIR).protocol_status() == expected
    assert fake_engine.rest_calls == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (200, ProtocolStatus("broadcasting", NodeHealth.HEALTHY)),
        (500, ProtocolStatus("delinquent", NodeHealth.UNHEALTHY)),
    ],
)
def test_protocol_status_of_a_running_node(rhai_plugin, fake_engine, code, expected):
    fake_engine.jobs_info = {"node": JobStatus.running()}
    fake_engine.on_run_rest = HttpResponse(code, "")
    assert rhai_plugin(PLUGIN_DIR).protocol_status() == expected
    ((request, timeout),) = fake_engine.rest_calls
    assert (request.url, request.headers, timeout) == (
        "http://127.0.0.1:26657/health",
        [("accept", "application/json")],
        None,
    )


def test_height(rhai_plugin, fake_engine):
    fake_engine.on_run_rest = HttpResponse(200, '{"result": {"sync_info": {"latest_block_height": "1234"}}}')
    assert rhai_plugin(PLUGIN_DIR).height() == 1234
    ((request, timeout),) = fake_engine.rest_calls
    assert (request.url, timeout) == ("http://127.0.0.1:26657/status", 5)


def test_protocol_status_of_an_unknown_node_job_fails(rhai_plugin, fake_engine):
    # Before init there is no "node" job: job_info fails and so does the script.
    with pytest.raises(PluginError, match="job 'node' not found"):
        rhai_plugin(PLUGIN_DIR).protocol_status()
