"""Tests of the custom_download_upload example: a script-defined `init()` that tries the built-in download
job and falls back to a sync from genesis, and a script-defined `upload()`."""

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
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
    ShResponse,
)
from babel_api.models import Compression
from babel_api.testing import FakeEngine

PLUGIN_DIR = Path(__file__).parents[1]

NODE_ENV = NodeEnv(
    node_id="node_id",
    node_name="node name",
    node_variant="main",
    protocol_data_path="/blockjoy/protocol_data",
)
ARCHIVE_RESTART = RestartConfig(600000, 500, 10)


def service(run_sh: str, needs: list[str]) -> JobConfig:
    return JobConfig(
        job_type=JobType.run_sh(run_sh),
        restart=RestartPolicy.always(RestartConfig(60000, 1000)),
        shutdown_timeout_secs=60,
        needs=needs,
        use_protocol_data=True,
    )


def services(needs: list[str]) -> list[tuple[str, JobConfig]]:
    return [
        (
            "blockchain",
            service("/usr/bin/blockchain --datadir=/blockjoy/protocol_data/chain --port=30303", needs),
        ),
        ("indexer", service("/usr/bin/indexer --db=/blockjoy/protocol_data/index", needs)),
    ]


ARCHIVE_DOWNLOAD = JobConfig(
    job_type=JobType.download(max_connections=4, max_runners=8),
    restart=RestartPolicy.on_failure(ARCHIVE_RESTART),
)
GENESIS_SYNC = JobConfig(
    job_type=JobType.run_sh("/usr/bin/blockchain init --datadir=/blockjoy/protocol_data/chain"),
    restart=RestartPolicy.never(),
    use_protocol_data=True,
    one_time=True,
)
UPLOAD = JobConfig(
    job_type=JobType.upload(
        exclude=["index/**", "**/*.tmp"],
        compression=Compression.zstd(3),
        max_connections=4,
        max_runners=8,
    ),
    restart=RestartPolicy.on_failure(ARCHIVE_RESTART),
)


@pytest.mark.parametrize("script", sorted(PLUGIN_DIR.glob("*.rhai")), ids=lambda path: path.name)
def test_rhai_syntax(script):
    rhai.Engine().compile_file(script)


def test_custom_download_upload(rhai_plugin):
    # The spec's permissive dummy engine: no archive, no saved config, `get_jobs` answers no job.
    engine = FakeEngine(
        node_env=NODE_ENV,
        node_params={"arbitrary-text-property": "testing_value"},
        jobs_info={},
    )
    plugin = rhai_plugin(PLUGIN_DIR, engine=engine)
    plugin.init()
    plugin.upload()


def test_init_downloads_the_archive(rhai_plugin, fake_engine):
    fake_engine.has_archive = True
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()

    assert fake_engine.sh_calls == [
        ("mkdir -p /blockjoy/protocol_data/chain /blockjoy/protocol_data/index", None)
    ]
    # debug() logs the debug rendering of its argument: a string comes quoted.
    assert fake_engine.logs == [("debug", '"data folders ready"')]
    assert fake_engine.created == [("download", ARCHIVE_DOWNLOAD), *services(["download"])]
    assert fake_engine.started == ["download", "blockchain", "indexer"]
    # Without plugin_config() nothing is saved and the host's defaults are not offered.
    assert fake_engine.saved_configs == []
    assert fake_engine.stop_all_calls == 0


def test_init_without_archive_syncs_from_genesis(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()

    # Creating the built-in download job failed, so it was never started; the fallback took its name.
    assert fake_engine.created == [("download", GENESIS_SYNC), *services(["download"])]
    assert fake_engine.started == ["download", "blockchain", "indexer"]
    level, message = fake_engine.logs[-1]
    assert level == "warn"
    assert message.startswith("no archive to download (manifest not available")
    assert message.endswith("); syncing from genesis")


def test_init_stops_when_the_data_folder_cannot_be_made(rhai_plugin, fake_engine):
    fake_engine.on_run_sh = ShResponse(1, "", "mkdir: Permission denied")
    with pytest.raises(PluginError, match="unexpected exit_code: 1"):
        rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).init()
    assert fake_engine.created == []


def test_upload(rhai_plugin, fake_engine):
    fake_engine.has_archive = True
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    plugin.init()
    fake_engine.created.clear()
    fake_engine.started.clear()

    plugin.upload()

    assert fake_engine.stopped == ["blockchain", "indexer"]
    assert fake_engine.created == [("upload", UPLOAD), *services(["upload"])]
    assert fake_engine.started == ["upload", "blockchain", "indexer"]


def test_upload_before_init_fails(rhai_plugin, fake_engine):
    # There are no services to stop yet.
    with pytest.raises(PluginError, match="job 'blockchain' not found"):
        rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV).upload()
    assert fake_engine.created == []


def test_protocol_status(rhai_plugin, fake_engine):
    plugin = rhai_plugin(PLUGIN_DIR, node_env=NODE_ENV)
    fake_engine.jobs_info = {"download": JobStatus.running()}
    assert plugin.protocol_status() == ProtocolStatus("downloading", NodeHealth.NEUTRAL)
    fake_engine.jobs_info = {"upload": JobStatus.running()}
    assert plugin.protocol_status() == ProtocolStatus("uploading", NodeHealth.NEUTRAL)
    assert fake_engine.jrpc_calls == []

    fake_engine.jobs_info = {"blockchain": JobStatus.running()}
    fake_engine.on_run_jrpc = HttpResponse(
        200, '{"result": {"currentBlock": "0x10", "highestBlock": "0x20"}}'
    )
    assert plugin.protocol_status() == ProtocolStatus("syncing", NodeHealth.NEUTRAL)
    fake_engine.on_run_jrpc = HttpResponse(200, '{"result": false}')
    assert plugin.protocol_status() == ProtocolStatus("broadcasting", NodeHealth.HEALTHY)


def test_height(rhai_plugin, fake_engine):
    fake_engine.on_run_jrpc = HttpResponse(200, '{"jsonrpc": "2.0", "id": 0, "result": "0x1b4"}')
    assert rhai_plugin(PLUGIN_DIR).height() == 436
