"""The default init and upload algorithms (spec §4), run on a recording FakeEngine."""

import datetime
from pathlib import Path

import pytest

from babel_api.defaults import default_init, default_upload, render_config_files, run_actions, run_jobs
from babel_api.errors import PluginError
from babel_api.models import (
    Compression,
    JobType,
    NodeEnv,
    RestartConfig,
    RestartPolicy,
    ShResponse,
)
from babel_api.plugin_config import (
    ARCHIVE_RESTART,
    SERVICE_RESTART,
    Actions,
    AlternativeDownload,
    ColdInit,
    ConfigFile,
    Job,
    PluginConfig,
    Service,
    build_alternative_download_job_config,
    build_aux_service_job_config,
    build_cold_init_job_config,
    build_download_job_config,
    build_job_config,
    build_service_job_config,
    build_upload_job_config,
)
from babel_api.testing import FakeEngine

INIT_SCRIPT = {
    "config_files": [
        {
            "template": "/var/lib/babel/templates/config.template",
            "destination": "/etc/service.config",
            "params": {"node_name": "node name"},
        },
        {
            "template": "/var/lib/babel/templates/base_config.template",
            "destination": "/etc/default_service.config",
            "params": {"node_id": "node-id"},
        },
    ],
    "aux_services": [{"name": "nginx", "run_sh": "nginx with params"}],
    "init": {
        "commands": ["echo init_cmd"],
        "jobs": [{"name": "init_job", "run_sh": "echo init_job", "one_time": True}],
    },
    "alternative_download": {"run_sh": "alternative download"},
    "post_download": [{"name": "post_download_job", "run_sh": "echo post_download_job", "needs": ["some"]}],
    "services": [
        {"name": "protocol_service", "run_sh": "echo A"},
        {"name": "non_protocol_service", "run_sh": "echo B", "use_protocol_data": False},
    ],
    "scheduled": [
        {"name": "some_task", "schedule": "* * * * * * *", "function": "fn_name", "param": "param_value"}
    ],
}

UPLOAD_SCRIPT = {
    "services": [
        {"name": "protocol_service", "run_sh": "echo A", "run_as": "some_user"},
        {"name": "non_protocol_service", "run_sh": "echo B", "use_protocol_data": False},
    ],
    "pre_upload": {
        "commands": ["echo pre_upload_cmd"],
        "jobs": [{"name": "pre_upload_job", "run_sh": "echo pre_upload_job", "needs": ["some"]}],
    },
    "post_upload": [
        {
            "name": "post_upload_job",
            "run_sh": "echo post_upload_job",
            "needs": ["some"],
            "use_protocol_data": True,
        }
    ],
}

PROTOCOL_SERVICE = Service(name="protocol_service", run_sh="echo A")
NON_PROTOCOL_SERVICE = Service(name="non_protocol_service", run_sh="echo B", use_protocol_data=False)
INIT_JOB = Job(name="init_job", run_sh="echo init_job", one_time=True, needs=[])


def init_config(**changes):
    return PluginConfig.from_script({**INIT_SCRIPT, **changes})


def failing(command):
    """A run_sh answer: exit code 1 for `command`, success for anything else."""

    def run_sh(body, timeout):
        return ShResponse(1, "", "boom") if body == command else ShResponse(0, "", "")

    return run_sh


def test_run_actions_without_jobs():
    engine = FakeEngine()
    actions = Actions(commands=["echo action_cmd"], jobs=[])

    assert run_actions(engine, actions, ["some_job"]) == ["some_job"]
    assert engine.sh_calls == [("echo action_cmd", None)]
    assert engine.jobs == {}


def test_run_actions_and_run_jobs_pass_needs_through_when_there_is_nothing():
    engine = FakeEngine()

    assert run_actions(engine, None, ["a"]) == ["a"]
    assert run_jobs(engine, None, ["b"]) == ["b"]
    assert run_jobs(engine, [], ["c"]) == ["c"]
    assert engine.sh_calls == []
    assert engine.created == []


def test_run_jobs_starts_every_job_after_its_own_needs_then_the_incoming_ones():
    engine = FakeEngine()
    jobs = [Job(name="a", run_sh="echo a", needs=["x"]), Job(name="b", run_sh="echo b")]

    assert run_jobs(engine, jobs, ["download"]) == ["a", "b"]
    assert engine.started == ["a", "b"]
    assert engine.jobs["a"].needs == ["x", "download"]
    assert engine.jobs["b"].needs == ["download"]


def test_default_init():
    engine = FakeEngine(node_env=NodeEnv(node_id="node-id", node_name="node name"))
    config = init_config()

    default_init(engine, config)

    assert engine.stop_all_calls == 1
    assert engine.templates == [
        (
            Path("/var/lib/babel/templates/config.template"),
            Path("/etc/service.config"),
            {"node_name": "node name"},
        ),
        (
            Path("/var/lib/babel/templates/base_config.template"),
            Path("/etc/default_service.config"),
            {"node_id": "node-id"},
        ),
    ]
    assert engine.sh_calls == [("echo init_cmd", None)]
    alternative = AlternativeDownload(run_sh="alternative download")
    post_download = Job(name="post_download_job", run_sh="echo post_download_job", needs=["some", "download"])
    assert engine.created == [
        ("nginx", build_aux_service_job_config(config.aux_services[0])),
        ("init_job", build_job_config(INIT_JOB)),
        ("download", build_alternative_download_job_config(alternative, ["init_job"])),
        ("post_download_job", build_job_config(post_download)),
        ("protocol_service", build_service_job_config(PROTOCOL_SERVICE, ["post_download_job"], [])),
        ("non_protocol_service", build_service_job_config(NON_PROTOCOL_SERVICE, [], [])),
    ]
    assert engine.started == [name for name, _ in engine.created]
    assert engine.tasks == {"some_task": ("* * * * * * *", "fn_name", "param_value")}


def test_default_init_job_configs_in_plain_terms():
    engine = FakeEngine()

    default_init(engine, init_config())

    nginx, init_job, download = engine.jobs["nginx"], engine.jobs["init_job"], engine.jobs["download"]
    assert nginx.restart == RestartPolicy.always(SERVICE_RESTART)
    assert (nginx.needs, nginx.wait_for, nginx.use_protocol_data) == (None, None, False)
    assert (init_job.needs, init_job.one_time) == ([], True)
    assert download.job_type == JobType.run_sh("alternative download")
    assert (download.restart, download.needs) == (RestartPolicy.never(), ["init_job"])
    assert engine.jobs["post_download_job"].needs == ["some", "download"]
    service = engine.jobs["protocol_service"]
    assert (service.needs, service.wait_for, service.use_protocol_data) == (["post_download_job"], [], True)
    assert engine.jobs["non_protocol_service"].needs is None


def test_default_init_renders_params_as_compact_json_with_sorted_keys():
    rendered = []

    class RawTemplates(FakeEngine):
        def render_template(self, template, destination, params_json):
            rendered.append(params_json)

    files = [
        ConfigFile(template="t", destination="d", params={"node_name": "node name"}),
        ConfigFile(template="t", destination="d", params={"b": [1, None, True], "a": {"z": "ß", "y": 2.5}}),
    ]

    render_config_files(RawTemplates(), files)

    assert rendered == ['{"node_name":"node name"}', '{"a":{"y":2.5,"z":"ß"},"b":[1,null,true]}']


def test_default_init_with_an_archive_starts_the_download_job_then_post_download():
    engine = FakeEngine(has_protocol_archive=True)
    restart = {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 5}
    download = {"max_connections": 5, "max_runners": 8, "restart_config": restart}
    config = init_config(download=download)

    default_init(engine, config)

    assert engine.jobs["download"] == build_download_job_config(config.download, ["init_job"])
    assert engine.jobs["download"].job_type == JobType.download(max_connections=5, max_runners=8)
    assert engine.jobs["download"].restart == RestartPolicy.on_failure(RestartConfig(60000, 1000, 5))
    assert engine.jobs["post_download_job"].needs == ["some", "download"]
    assert engine.jobs["protocol_service"].needs == ["post_download_job"]


def test_default_init_with_an_archive_and_no_download_tuning_uses_the_archive_restart():
    engine = FakeEngine(has_protocol_archive=True)

    default_init(engine, init_config())

    assert engine.jobs["download"] == build_download_job_config(None, ["init_job"])
    assert engine.jobs["download"].restart == RestartPolicy.on_failure(ARCHIVE_RESTART)


def test_default_init_cold_init_does_not_start_post_download():
    engine = FakeEngine()
    script = {key: value for key, value in INIT_SCRIPT.items() if key != "alternative_download"}
    config = PluginConfig.from_script({**script, "cold_init": {"run_sh": "cold init", "one_time": True}})

    default_init(engine, config)

    cold_init = ColdInit(run_sh="cold init", one_time=True)
    assert engine.jobs["download"] == build_cold_init_job_config(cold_init, ["init_job"])
    assert "post_download_job" not in engine.jobs
    assert engine.jobs["protocol_service"].needs == ["download"]
    assert engine.started == ["nginx", "init_job", "download", "protocol_service", "non_protocol_service"]


def test_default_init_prefers_the_alternative_download_to_the_cold_init():
    engine = FakeEngine()

    default_init(engine, init_config(cold_init={"run_sh": "cold init"}))

    assert engine.jobs["download"].job_type == JobType.run_sh("alternative download")


@pytest.mark.parametrize("has_archive", [True, False])
def test_default_init_with_protocol_data_stamp_downloads_nothing(has_archive):
    stamp = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    engine = FakeEngine(protocol_data_stamp=stamp, has_protocol_archive=has_archive)

    default_init(engine, init_config(cold_init={"run_sh": "cold init"}))

    assert "download" not in engine.jobs
    assert "post_download_job" not in engine.jobs
    assert engine.jobs["protocol_service"].needs == ["init_job"]
    assert engine.started == ["nginx", "init_job", "protocol_service", "non_protocol_service"]


def test_default_init_without_any_download_method_starts_services_after_init():
    engine = FakeEngine()
    config = PluginConfig.from_script(
        {
            "services": [{"name": "protocol_service", "run_sh": "echo A"}],
            "scheduled": [{"name": "task", "schedule": "0 * * * * *", "function": "f"}],
        }
    )

    default_init(engine, config)

    assert engine.started == ["protocol_service"]
    assert engine.jobs["protocol_service"].needs == []
    assert engine.tasks == {"task": ("0 * * * * *", "f", "")}


def test_default_init_stops_at_a_failing_init_command():
    engine = FakeEngine(run_sh=failing("echo init_cmd"))

    with pytest.raises(PluginError) as error:
        default_init(engine, init_config())

    assert str(error.value) == (
        "init command 'echo init_cmd' failed with exit_code: "
        "ShResponse(exit_code=1, stdout='', stderr='boom')"
    )
    assert list(engine.jobs) == ["nginx"]
    assert engine.tasks == {}


def test_default_init_runs_commands_in_order_and_stops_at_the_first_failure():
    engine = FakeEngine(run_sh=failing("second"))
    config = init_config(init={"commands": ["first", "second", "third"], "jobs": []})

    with pytest.raises(PluginError, match=r"^init command 'second' failed with exit_code: "):
        default_init(engine, config)

    assert [body for body, _ in engine.sh_calls] == ["first", "second"]


@pytest.mark.parametrize("algorithm", [default_init, default_upload])
def test_missing_config(algorithm):
    engine = FakeEngine()

    with pytest.raises(PluginError) as error:
        algorithm(engine, None)

    assert str(error.value) == "Missing plugin_config function"
    assert engine.stop_all_calls == 0
    assert engine.stopped == []
    assert engine.created == []


def existing_services(config):
    """An engine on which the config's services were created, with those creations forgotten."""
    engine = FakeEngine()
    for service in config.services:
        engine.create_job(service.name, build_service_job_config(service, [], []))
    engine.created.clear()
    return engine


def test_default_upload():
    config = PluginConfig.from_script(UPLOAD_SCRIPT)
    engine = existing_services(config)

    default_upload(engine, config)

    assert engine.stopped == ["protocol_service"]
    assert engine.sh_calls == [("echo pre_upload_cmd", None)]
    pre_upload = Job(name="pre_upload_job", run_sh="echo pre_upload_job", needs=["some"])
    post_upload = Job(
        name="post_upload_job",
        run_sh="echo post_upload_job",
        needs=["some", "upload"],
        use_protocol_data=True,
    )
    service = Service(name="protocol_service", run_sh="echo A", run_as="some_user")
    assert engine.created == [
        ("pre_upload_job", build_job_config(pre_upload)),
        ("upload", build_upload_job_config(None, ["pre_upload_job"])),
        ("post_upload_job", build_job_config(post_upload)),
        ("protocol_service", build_service_job_config(service, [], ["post_upload_job"])),
    ]
    assert engine.started == ["pre_upload_job", "upload", "post_upload_job", "protocol_service"]


def test_default_upload_job_configs_in_plain_terms():
    config = PluginConfig.from_script(UPLOAD_SCRIPT)
    engine = existing_services(config)

    default_upload(engine, config)

    upload = engine.jobs["upload"]
    assert upload.job_type == JobType.upload(compression=Compression.zstd(3))
    assert (upload.restart, upload.needs) == (RestartPolicy.on_failure(ARCHIVE_RESTART), ["pre_upload_job"])
    service = engine.jobs["protocol_service"]
    assert (service.needs, service.wait_for, service.run_as) == ([], ["post_upload_job"], "some_user")


def test_default_upload_without_post_upload_jobs_restarts_services_after_the_upload():
    config = PluginConfig.from_script({"services": UPLOAD_SCRIPT["services"]})
    engine = existing_services(config)

    default_upload(engine, config)

    assert engine.started == ["upload", "protocol_service"]
    assert engine.jobs["upload"].needs == []
    assert engine.jobs["protocol_service"].wait_for == ["upload"]


def test_default_upload_stops_at_a_failing_pre_upload_command():
    config = PluginConfig.from_script(UPLOAD_SCRIPT)
    engine = existing_services(config)
    engine.on_run_sh = failing("echo pre_upload_cmd")

    with pytest.raises(PluginError) as error:
        default_upload(engine, config)

    assert str(error.value) == (
        "init command 'echo pre_upload_cmd' failed with exit_code: "
        "ShResponse(exit_code=1, stdout='', stderr='boom')"
    )
    assert engine.stopped == ["protocol_service"]
    assert engine.created == []


def test_default_upload_with_upload_tuning():
    script = {
        **UPLOAD_SCRIPT,
        "upload": {"compression": "NONE", "number_of_chunks": 700, "exclude": ["*.bak"]},
    }
    config = PluginConfig.from_script(script)
    engine = existing_services(config)

    default_upload(engine, config)

    options = engine.jobs["upload"].job_type.data
    assert (options.compression, options.number_of_chunks, options.exclude) == (None, 700, ["*.bak"])


def test_engine_errors_propagate():
    config = PluginConfig.from_script(UPLOAD_SCRIPT)

    with pytest.raises(RuntimeError, match="job 'protocol_service' not found"):
        default_upload(FakeEngine(), config)
