"""Tests of the plugin_config example: the host's default init and upload driven by `plugin_config()`,
and the functions that answer the host's questions about the node."""

import datetime
import time
from pathlib import Path

import attrs
import pytest
import rhai

from babel_api import (
    HttpResponse,
    JobConfig,
    JobStatus,
    JobType,
    JrpcRequest,
    NodeEnv,
    NodeHealth,
    PluginError,
    PosixSignal,
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
    ShResponse,
)
from babel_api.models import Compression

PLUGIN_DIR = Path(__file__).parents[1]

NODE_ENV = NodeEnv(
    node_id="node_id",
    node_name="node name",
    node_variant="main",
    protocol_data_path="/blockjoy/protocol_data",
)

AUX_SERVICE_A = JobConfig(
    job_type=JobType.run_sh("monitoring_agent"),
    restart=RestartPolicy.always(RestartConfig(60000, 1000, 13)),
    shutdown_timeout_secs=120,
    shutdown_signal=PosixSignal.SIGINT,
    run_as="some_user",
    log_buffer_capacity_mb=256,
    log_timestamp=True,
    use_protocol_data=False,
)
INIT_JOB = JobConfig(
    job_type=JobType.run_sh("openssl rand -hex 32 > /blockjoy/protocol_data/A/jwt.txt"),
    restart=RestartPolicy.never(),
    shutdown_timeout_secs=120,
    shutdown_signal=PosixSignal.SIGINT,
    needs=["other_init_job_name"],
    run_as="some_user",
    log_buffer_capacity_mb=32,
    log_timestamp=True,
    use_protocol_data=True,
    one_time=True,
)
ARCHIVE_DOWNLOAD = JobConfig(
    job_type=JobType.download(max_connections=5, max_runners=8),
    restart=RestartPolicy.on_failure(RestartConfig(60000, 1000, 5)),
    needs=["init_job"],
)
ALTERNATIVE_DOWNLOAD = JobConfig(
    job_type=JobType.run_sh("/usr/bin/wget -q -O - some_url"),
    restart=RestartPolicy.on_failure(RestartConfig(60000, 10000, 3)),
    needs=["init_job"],
    run_as="some_user",
    log_buffer_capacity_mb=64,
    log_timestamp=True,
)
POST_DOWNLOAD_JOB = JobConfig(
    job_type=JobType.run_sh("echo restoreDB"),
    restart=RestartPolicy.never(),
    needs=["download"],
    use_protocol_data=True,
)
PROTOCOL_SERVICE_A = JobConfig(
    job_type=JobType.run_sh(
        "/usr/bin/protocol_service_a start --home=/blockjoy/protocol_data/A --chain=main"
        ' --rest-server="0.0.0.0:4467" --seeds main seed "$@"'
    ),
    restart=RestartPolicy.always(RestartConfig(60000, 1000, 13)),
    shutdown_timeout_secs=120,
    shutdown_signal=PosixSignal.SIGINT,
    needs=["post_download_job"],
    wait_for=[],
    run_as="some_user",
    log_buffer_capacity_mb=256,
    log_timestamp=True,
    use_protocol_data=True,
)
PROTOCOL_SERVICE_B = JobConfig(
    job_type=JobType.run_sh("/usr/bin/protocol_service_b"),
    restart=RestartPolicy.always(RestartConfig(60000, 1000, None)),
    needs=["post_download_job"],
    wait_for=[],
    use_protocol_data=True,
)
PRE_UPLOAD_JOB = JobConfig(
    job_type=JobType.run_sh("echo dumpDB"),
    restart=RestartPolicy.never(),
    needs=[],
)
UPLOAD = JobConfig(
    job_type=JobType.upload(
        exclude=["**/something_to_ignore*", ".gitignore", "some_subdir/*.bak"],
        compression=Compression.zstd(5),
        max_connections=4,
        max_runners=12,
        number_of_chunks=700,
        url_expires_secs=240000,
        data_version=3,
    ),
    restart=RestartPolicy.on_failure(RestartConfig(60000, 1000, 5)),
    needs=["pre_upload_job"],
)
POST_UPLOAD_JOB = JobConfig(
    job_type=JobType.run_sh("echo cleanup_after_upload"),
    restart=RestartPolicy.never(),
    needs=["upload"],
)


def jrpc_answers(*bodies: str):
    """A `run_jrpc` answer giving status 200 with each body in turn."""
    answers = iter(bodies)
    return lambda request, timeout: HttpResponse(200, next(answers))


@pytest.mark.parametrize("script", sorted(PLUGIN_DIR.glob("*.rhai")), ids=lambda path: path.name)
def test_rhai_syntax(script):
    # A bare engine with Rhai's default expression depths (64, and 32 inside functions).
    rhai.Engine().compile_file(script)


def test_plugin_config(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)

    fake_engine.has_archive = True
    plugin.init()
    fake_engine.has_archive = False
    plugin.init()

    assert len(fake_engine.saved_configs) == 2
    assert fake_engine.stop_all_calls == 2
    rendered = [
        (
            Path("/var/lib/babel/templates/config.template"),
            Path("/etc/base_service.config"),
            {"node_name": "node name"},
        ),
        (
            Path("/var/lib/babel/templates/config.template"),
            Path("/etc/service.config"),
            {"node_name": "node name"},
        ),
    ]
    assert fake_engine.templates == rendered * 2
    assert fake_engine.sh_calls == [("mkdir -p /opt/netdata/var/cache/netdata", None)] * 2
    first_init = [
        ("aux_service_a", AUX_SERVICE_A),
        ("init_job", INIT_JOB),
        ("download", ARCHIVE_DOWNLOAD),
        ("post_download_job", POST_DOWNLOAD_JOB),
        ("protocol_service_a", PROTOCOL_SERVICE_A),
        ("protocol_service_b", PROTOCOL_SERVICE_B),
    ]
    second_init = [
        (name, ALTERNATIVE_DOWNLOAD if name == "download" else config) for name, config in first_init
    ]
    assert fake_engine.created == first_init + second_init
    assert fake_engine.started == [name for name, _ in first_init] * 2
    assert fake_engine.started.count("download") == 2
    assert fake_engine.tasks == {"some_task": ("* * * * * * *", "fn_name", "param_value")}

    fake_engine.created.clear()
    fake_engine.started.clear()
    fake_engine.sh_calls.clear()
    plugin.upload()

    assert fake_engine.stopped == ["protocol_service_a", "protocol_service_b"]
    assert fake_engine.sh_calls == [("echo uploading", None)]
    assert fake_engine.created == [
        ("pre_upload_job", PRE_UPLOAD_JOB),
        ("upload", UPLOAD),
        ("post_upload_job", POST_UPLOAD_JOB),
        ("protocol_service_a", attrs.evolve(PROTOCOL_SERVICE_A, needs=[], wait_for=["post_upload_job"])),
        ("protocol_service_b", attrs.evolve(PROTOCOL_SERVICE_B, needs=[], wait_for=["post_upload_job"])),
    ]
    assert fake_engine.started == [name for name, _ in fake_engine.created]

    fake_engine.jobs_info = {}
    fake_engine.on_run_jrpc = HttpResponse(200, '{"healthy": true}')
    assert plugin.protocol_status() == ProtocolStatus("broadcasting", NodeHealth.HEALTHY)
    assert fake_engine.jrpc_calls == [
        (
            JrpcRequest(
                host="http://localhost:4467/",
                method="health.health",
                headers=[("content-type", "application/json")],
            ),
            None,
        )
    ]


def test_saved_config_is_what_the_script_declares(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.reload_plugin_config()

    (config,) = fake_engine.saved_configs
    assert [service.name for service in config.services] == ["protocol_service_a", "protocol_service_b"]
    assert config.cold_init.one_time is True
    assert (
        config.cold_init.run_sh
        == "/usr/bin/protocol_service_a init --home=/blockjoy/protocol_data/A --chain=main"
    )
    # Once a config is known the host offers the default init and upload too.
    assert set(plugin.capabilities()) == {
        "plugin_config",
        "protocol_status",
        "height",
        "block_age",
        "name",
        "address",
        "consensus",
        "fn_name",
        "init",
        "upload",
    }


def test_init_with_protocol_data_already_there_downloads_nothing(rhai_plugin, fake_engine):
    fake_engine.stamp = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
    fake_engine.has_archive = True
    rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).init()

    assert "download" not in fake_engine.jobs
    assert "post_download_job" not in fake_engine.jobs
    assert fake_engine.jobs["protocol_service_a"].needs == ["init_job"]
    assert fake_engine.jobs["protocol_service_b"].needs == ["init_job"]


def test_polygon_like_functions(rhai_plugin, fake_engine):
    # No init and no saved config, a default node env: the getters work on their own.
    fake_engine.on_run_sh = ShResponse(0, "addr", "")
    fake_engine.jobs_info = {}
    fake_engine.on_run_jrpc = jrpc_answers('{"healthy": true}', '{"result":"0xa1"}', "{}")
    plugin = rhai_plugin(PLUGIN_DIR)

    assert plugin.address() == "addr"
    assert plugin.protocol_status() == ProtocolStatus("broadcasting", NodeHealth.HEALTHY)
    assert plugin.height() == 161
    assert plugin.block_age() == 0

    assert fake_engine.sh_calls == [("cat /A/address", None)]
    assert [(request.host, request.method, request.params) for request, _ in fake_engine.jrpc_calls] == [
        ("http://localhost:4467/", "health.health", None),
        ("http://127.0.0.1:8545", "eth_blockNumber", None),
        ("http://127.0.0.1:8545", "eth_getBlockByNumber", '["latest",false]'),
    ]


def test_address_drops_the_trailing_newline(rhai_plugin, fake_engine):
    fake_engine.on_run_sh = ShResponse(0, "0xabc\n", "")
    assert rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).address() == "0xabc"
    assert fake_engine.sh_calls == [("cat /blockjoy/protocol_data/A/address", None)]


def test_address_fails_when_the_command_fails(rhai_plugin, fake_engine):
    fake_engine.on_run_sh = ShResponse(1, "", "No such file")
    with pytest.raises(PluginError, match="unexpected exit_code: 1"):
        rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).address()


def test_block_age_of_the_latest_block(rhai_plugin, fake_engine):
    timestamp = int(time.time()) - 30
    fake_engine.on_run_jrpc = HttpResponse(200, f'{{"result": {{"timestamp": "{hex(timestamp)}"}}}}')
    assert 30 <= rhai_plugin(PLUGIN_DIR).block_age() <= 35


@pytest.mark.parametrize("healthy", ["false", '"false"'])
def test_protocol_status_unhealthy(rhai_plugin, fake_engine, healthy):
    fake_engine.on_run_jrpc = HttpResponse(200, f'{{"healthy": {healthy}}}')
    status = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).protocol_status()
    assert status == ProtocolStatus("delinquent", NodeHealth.UNHEALTHY)


def test_protocol_status_fails_on_an_http_error(rhai_plugin, fake_engine):
    fake_engine.on_run_jrpc = HttpResponse(503, "")
    with pytest.raises(PluginError, match="unexpected status_code: 503"):
        rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).protocol_status()


def test_protocol_status_while_downloading_and_starting(rhai_plugin, fake_engine):
    fake_engine.has_archive = True
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()
    # Right after init the services are pending: the host answers without asking the script.
    assert plugin.protocol_status() == ProtocolStatus("starting", NodeHealth.NEUTRAL)
    fake_engine.jobs_info = {"download": JobStatus.running()}
    assert plugin.protocol_status() == ProtocolStatus("downloading", NodeHealth.NEUTRAL)
    assert fake_engine.jrpc_calls == []


def test_name_and_consensus(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    assert plugin.name() == "node name"
    fake_engine.params = {"moniker": "my validator"}
    assert plugin.name() == "my validator"
    assert plugin.consensus() is False


def test_scheduled_task_function(rhai_plugin, fake_engine):
    fake_engine.on_run_sh = ShResponse(0, "pruned 42 blocks", "")
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)

    assert plugin.call_custom_method("fn_name", "param_value") == "pruned 42 blocks"
    assert fake_engine.sh_calls == [
        ('/usr/bin/protocol_service_a prune --home=/blockjoy/protocol_data/A --kind="param_value"', 600)
    ]
    assert fake_engine.logs == [("info", "pruned param_value: pruned 42 blocks")]


def test_scheduled_task_refuses_an_unsafe_param(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    with pytest.raises(PluginError, match="Shell unsafe character detected: ;"):
        plugin.call_custom_method("fn_name", "all; rm -rf /")
    assert fake_engine.sh_calls == []
