"""PluginConfig: parsing the map `plugin_config()` returns, validation, and the JobConfig builders."""

import copy

import attrs
import pytest

from babel_api.models import Compression, JobConfig, JobType, PosixSignal, RestartConfig, RestartPolicy
from babel_api.plugin_config import (
    ARCHIVE_RESTART,
    DOWNLOAD_JOB_NAME,
    SERVICE_RESTART,
    UPLOAD_JOB_NAME,
    Actions,
    AlternativeDownload,
    AuxService,
    ColdInit,
    ConfigFile,
    Download,
    Job,
    PluginCompression,
    PluginConfig,
    PluginConfigError,
    PluginRestartPolicy,
    Service,
    Task,
    Upload,
    build_alternative_download_job_config,
    build_aux_service_job_config,
    build_cold_init_job_config,
    build_download_job_config,
    build_job_config,
    build_service_job_config,
    build_upload_job_config,
)
from babel_api.shapes import ShapeError

SERVICE_A_CMD = (
    "/usr/bin/protocol_service_a start --home=/blockjoy/protocol_data/A --chain=main --rest-server "
    '--seeds main seed "$@"'
)

# What the example `plugin_config.rhai` of the original evaluates to for node "node name", variant "main".
EXAMPLE = {
    "config_files": [
        {
            "template": "/var/lib/babel/templates/config.template",
            "destination": "/etc/base_service.config",
            "params": {"node_name": "node name"},
        },
        {
            "template": "/var/lib/babel/templates/config.template",
            "destination": "/etc/service.config",
            "params": {"node_name": "node name"},
        },
    ],
    "aux_services": [
        {
            "name": "aux_service_a",
            "run_sh": "monitoring_agent",
            "restart_config": {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 13},
            "shutdown_timeout_secs": 120,
            "shutdown_signal": "SIGINT",
            "run_as": "some_user",
            "log_buffer_capacity_mb": 256,
            "log_timestamp": True,
        }
    ],
    "init": {
        "commands": ["mkdir -p /opt/netdata/var/cache/netdata"],
        "jobs": [
            {
                "name": "init_job",
                "run_sh": "openssl rand -hex 32 > /blockjoy/protocol_data/A/jwt.txt",
                "restart": "never",
                "shutdown_timeout_secs": 120,
                "shutdown_signal": "SIGINT",
                "needs": ["other_init_job_name"],
                "run_as": "some_user",
                "log_buffer_capacity_mb": 32,
                "log_timestamp": True,
                "use_protocol_data": True,
                "one_time": True,
            }
        ],
    },
    "services": [
        {
            "name": "protocol_service_a",
            "run_sh": SERVICE_A_CMD,
            "restart_config": {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 13},
            "shutdown_timeout_secs": 120,
            "shutdown_signal": "SIGINT",
            "run_as": "some_user",
            "use_protocol_data": True,
            "log_buffer_capacity_mb": 256,
            "log_timestamp": True,
        },
        {
            "name": "protocol_service_b",
            "run_sh": "/usr/bin/protocol_service_b --chain=main --datadir=/blockjoy/protocol_data/A",
        },
    ],
    "download": {
        "max_connections": 5,
        "max_runners": 8,
        "restart_config": {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 5},
    },
    "alternative_download": {
        "run_sh": "/usr/bin/wget -q -O - some_url",
        "restart_config": {"backoff_timeout_ms": 60000, "backoff_base_ms": 10000, "max_retries": 3},
        "run_as": "some_user",
        "log_buffer_capacity_mb": 64,
        "log_timestamp": True,
    },
    "post_download": [{"name": "post_download_job", "run_sh": "echo restoreDB", "use_protocol_data": True}],
    "pre_upload": {
        "commands": ["echo uploading"],
        "jobs": [{"name": "pre_upload_job", "run_sh": "echo dumpDB"}],
    },
    "upload": {
        "exclude": ["**/something_to_ignore*", ".gitignore", "some_subdir/*.bak"],
        "compression": {"ZSTD": 5},
        "max_connections": 4,
        "max_runners": 12,
        "number_of_chunks": 700,
        "url_expires_secs": 240000,
        "data_version": 3,
        "restart_config": {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 5},
    },
    "post_upload": [{"name": "post_upload_job", "run_sh": "echo cleanup_after_upload"}],
    "scheduled": [
        {"name": "some_task", "schedule": "* * * * * * *", "function": "fn_name", "param": "param_value"}
    ],
}


@pytest.fixture
def example() -> PluginConfig:
    return PluginConfig.from_script(EXAMPLE)


def config_error(value) -> PluginConfigError:
    with pytest.raises(PluginConfigError) as info:
        PluginConfig.from_script(value)
    return info.value


# --- parsing (spec §8.3) -----------------------------------------------------------------------------


def test_service_use_protocol_data_defaults_to_true():
    service = Service.from_json({"name": "test_service", "run_sh": "/usr/bin/test"})
    assert service == Service(name="test_service", run_sh="/usr/bin/test")
    assert service.use_protocol_data is True
    assert service.restart_config is None


def test_service_with_all_fields():
    plain = {
        "name": "reth",
        "run_sh": "/usr/bin/reth node",
        "restart_config": {"backoff_timeout_ms": 1, "backoff_base_ms": 2, "max_retries": 3},
        "shutdown_timeout_secs": 30,
        "shutdown_signal": "SIGINT",
        "run_as": "user",
        "use_protocol_data": False,
        "log_buffer_capacity_mb": 10,
        "log_timestamp": True,
    }
    service = Service.from_json(plain)
    assert service == Service(
        name="reth",
        run_sh="/usr/bin/reth node",
        restart_config=RestartConfig(1, 2, 3),
        shutdown_timeout_secs=30,
        shutdown_signal=PosixSignal.SIGINT,
        run_as="user",
        use_protocol_data=False,
        log_buffer_capacity_mb=10,
        log_timestamp=True,
    )
    assert service.to_json() == plain


def test_service_serialisation_round_trip_always_emits_use_protocol_data():
    service = Service(name="lighthouse", run_sh="/usr/bin/lighthouse bn")
    plain = service.to_json()
    assert plain["use_protocol_data"] is True
    assert Service.from_json(plain) == service


def test_plugin_config_with_services_only():
    config = PluginConfig.from_script({"services": [{"name": "a", "run_sh": "run a"}]})
    assert config == PluginConfig(services=[Service(name="a", run_sh="run a")])
    assert config.init is None
    assert config.scheduled is None
    assert PluginConfig.from_script({"services": []}) == PluginConfig(services=[])


def test_example_parses_into_the_nested_types(example):
    assert example.config_files[1] == ConfigFile(
        template="/var/lib/babel/templates/config.template",
        destination="/etc/service.config",
        params={"node_name": "node name"},
    )
    assert example.aux_services[0].shutdown_signal is PosixSignal.SIGINT
    assert example.init == Actions(
        commands=["mkdir -p /opt/netdata/var/cache/netdata"], jobs=[Job.from_json(EXAMPLE["init"]["jobs"][0])]
    )
    assert example.init.jobs[0].restart == PluginRestartPolicy.never()
    assert example.download == Download(
        restart_config=RestartConfig(60000, 1000, 5), max_connections=5, max_runners=8
    )
    assert example.alternative_download.run_as == "some_user"
    assert example.post_download == [
        Job(name="post_download_job", run_sh="echo restoreDB", use_protocol_data=True)
    ]
    assert example.upload.compression == PluginCompression.zstd(5)
    assert example.scheduled == [
        Task(name="some_task", schedule="* * * * * * *", function="fn_name", param="param_value")
    ]


def test_plugin_config_round_trips_through_persisted_json(example):
    plain = example.to_json()
    assert plain["services"][1]["use_protocol_data"] is True
    assert plain["init"]["jobs"][0]["restart"] == "never"
    assert plain["upload"]["compression"] == {"ZSTD": 5}
    assert plain["cold_init"] is None
    assert PluginConfig.from_json(plain) == example
    assert PluginConfig.from_script(plain) == example


def test_every_field_of_every_type_round_trips():
    plain = copy.deepcopy(EXAMPLE)
    plain["cold_init"] = {
        "run_sh": "init from scratch",
        "restart_config": {"backoff_timeout_ms": 1, "backoff_base_ms": 2, "max_retries": None},
        "run_as": "u",
        "log_buffer_capacity_mb": 1,
        "log_timestamp": False,
        "one_time": True,
    }
    plain["upload"]["compression"] = "NONE"
    plain["post_upload"][0]["restart"] = {
        "on_failure": {"backoff_timeout_ms": 1, "backoff_base_ms": 2, "max_retries": 3}
    }
    config = PluginConfig.from_script(plain)
    assert config.cold_init == ColdInit(
        run_sh="init from scratch",
        restart_config=RestartConfig(1, 2),
        run_as="u",
        log_buffer_capacity_mb=1,
        log_timestamp=False,
        one_time=True,
    )
    assert config.upload.compression == PluginCompression.none()
    assert config.post_upload[0].restart == PluginRestartPolicy.on_failure(RestartConfig(1, 2, 3))
    assert PluginConfig.from_json(config.to_json()) == config


def test_unknown_keys_are_ignored():
    config = PluginConfig.from_script(
        {
            "services": [{"name": "a", "run_sh": "x", "needs": ["init"]}],
            "alternative_download": {"run_sh": "y", "restart": "never"},
            "disable_default_services": True,
        }
    )
    assert config.services == [Service(name="a", run_sh="x")]
    assert config.alternative_download == AlternativeDownload(run_sh="y")


def test_task_param_is_optional():
    task = Task.from_json({"name": "t", "schedule": "0 * * * * *", "function": "f"})
    assert task.param is None


# --- shape errors name the field path ---------------------------------------------------------------


def with_(path_value: tuple, base=None) -> dict:
    """A copy of the example (or `base`) with one nested value replaced; `path_value` = (keys..., value)."""
    value = copy.deepcopy(EXAMPLE if base is None else base)
    *keys, last, new = path_value
    target = value
    for key in keys:
        target = target[key]
    target[last] = new
    return value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("services", 1, "restart_config", {"backoff_timeout_ms": 1, "backoff_base_ms": "1s"}),
            'services[1].restart_config.backoff_base_ms: expected an integer, got "1s"',
        ),
        (("services", 0, "run_sh", None), "services[0].run_sh: missing required field"),
        (("services", 0, "name", 7), "services[0].name: expected a string, got 7"),
        (
            ("services", 0, "log_timestamp", "true"),
            'services[0].log_timestamp: expected a boolean, got "true"',
        ),
        (("services", 0, "use_protocol_data", 1), "services[0].use_protocol_data: expected a boolean, got 1"),
        (
            ("services", 0, "shutdown_timeout_secs", True),
            "services[0].shutdown_timeout_secs: expected an integer, got true",
        ),
        (
            ("services", 0, "shutdown_timeout_secs", -1),
            "services[0].shutdown_timeout_secs: expected an unsigned 64-bit integer "
            "(0 to 18446744073709551615), got -1",
        ),
        (
            ("init", "jobs", 0, "restart", "sometimes"),
            'init.jobs[0].restart: expected "never" or a map with one of on_failure, got "sometimes"',
        ),
        (
            ("init", "jobs", 0, "restart", {"always": {"backoff_timeout_ms": 1, "backoff_base_ms": 1}}),
            'init.jobs[0].restart: expected "never" or a map with one of on_failure, '
            "got a map with key always",
        ),
        (
            (
                "init",
                "jobs",
                0,
                "restart",
                {"on_failure": {"backoff_timeout_ms": 1, "backoff_base_ms": 1, "max_retries": -1}},
            ),
            "init.jobs[0].restart.on_failure.max_retries: "
            "expected an unsigned 32-bit integer (0 to 4294967295), got -1",
        ),
        (("init", "jobs", 0, "needs", ["a", 5]), "init.jobs[0].needs[1]: expected a string, got 5"),
        (("init", "jobs", 0, "shutdown_signal", "SIGFOO"), "init.jobs[0].shutdown_signal: expected one of"),
        (("init", "commands", None), "init.commands: missing required field"),
        (("init", "jobs", "job"), 'init.jobs: expected a list, got "job"'),
        (("post_download", 0, "one_time", "yes"), 'post_download[0].one_time: expected a boolean, got "yes"'),
        (("config_files", 1, "params", None), "config_files[1].params: missing required field"),
        (
            ("aux_services", 0, "log_buffer_capacity_mb", 1.5),
            "aux_services[0].log_buffer_capacity_mb: expected an integer, got 1.5",
        ),
        (("download", "max_connections", "5"), 'download.max_connections: expected an integer, got "5"'),
        (("alternative_download", "run_sh", 1), "alternative_download.run_sh: expected a string, got 1"),
        (
            ("upload", "compression", "zstd"),
            'upload.compression: expected "NONE" or a map with one of ZSTD, got "zstd"',
        ),
        (("upload", "compression", {"ZSTD": "5"}), 'upload.compression.ZSTD: expected an integer, got "5"'),
        (
            ("upload", "number_of_chunks", 2**32),
            "upload.number_of_chunks: expected an unsigned 32-bit integer (0 to 4294967295), got 4294967296",
        ),
        (("upload", "exclude", [".git", None]), "upload.exclude[1]: expected a string, got null"),
        (
            ("pre_upload", "jobs", 0, "run_sh", ["echo"]),
            "pre_upload.jobs[0].run_sh: expected a string, got a list of 1 items",
        ),
        (("scheduled", 0, "param", 1), "scheduled[0].param: expected a string, got 1"),
        (("services", None), "services: missing required field"),
    ],
)
def test_shape_errors_name_the_field(change, message):
    error = config_error(with_(change))
    assert str(error).startswith(message)
    assert isinstance(error, ValueError)
    assert error.path == message.split(":")[0]


def test_a_config_must_be_a_map():
    assert str(config_error([1])) == "expected a map, got a list of 1 items"


# --- validation (spec §3.4) -------------------------------------------------------------------------


def named(*names, kind="job"):
    if kind == "task":
        return [{"name": n, "schedule": "* * * * * *", "function": "f"} for n in names]
    return [{"name": n, "run_sh": "x"} for n in names]


def actions(*names):
    return {"commands": [], "jobs": named(*names)}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"services": [], "scheduled": named("t", "u", "t", kind="task")},
            'scheduled[2].name: Scheduled tasks names are not unique ("t" is used twice)',
        ),
        (
            {"services": [], "aux_services": named("a", "a")},
            'aux_services[1].name: Auxiliary services names are not unique ("a" is used twice)',
        ),
        (
            {"services": [], "init": actions("i", "i")},
            'init.jobs[1].name: Init jobs names are not unique ("i" is used twice)',
        ),
        (
            {"services": [], "post_download": named("p", "p")},
            'post_download[1].name: Post-download jobs names are not unique ("p" is used twice)',
        ),
        (
            {"services": named("a", "a")},
            'services[1].name: Services names are not unique ("a" is used twice)',
        ),
        (
            {"services": [], "pre_upload": actions("p", "p")},
            'pre_upload.jobs[1].name: Pre-upload jobs names are not unique ("p" is used twice)',
        ),
        (
            {"services": [], "post_upload": named("p", "p")},
            'post_upload[1].name: Post-upload jobs names are not unique ("p" is used twice)',
        ),
    ],
)
def test_names_must_be_unique_within_a_category(config, message):
    assert str(config_error(config)) == message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"services": named("download")},
            'services[0].name: Services names are not unique ("download" is reserved for the built-in job)',
        ),
        (
            {"services": [], "init": actions("upload")},
            'init.jobs[0].name: Init jobs names are not unique ("upload" is reserved for the built-in job)',
        ),
        (
            {"services": [], "aux_services": named("download")},
            "aux_services[0].name: Auxiliary services names are not unique "
            '("download" is reserved for the built-in job)',
        ),
    ],
)
def test_upload_and_download_are_reserved(config, message):
    assert str(config_error(config)) == message


def test_names_are_shared_across_categories():
    error = config_error({"services": named("x"), "init": actions("x")})
    assert (
        str(error) == 'services[0].name: Services names are not unique ("x" is already used by init.jobs[0])'
    )
    assert error.path == "services[0].name"
    error = config_error({"services": [], "aux_services": named("m"), "post_upload": named("m")})
    assert str(error) == (
        'post_upload[0].name: Post-upload jobs names are not unique ("m" is already used by aux_services[0])'
    )


def test_task_names_are_a_separate_set():
    config = PluginConfig.from_script({"services": named("same"), "scheduled": named("same", kind="task")})
    assert config.scheduled[0].name == "same"
    assert PluginConfig.from_script({"services": [], "scheduled": named("upload", kind="task")}).scheduled


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"services": named("a", "a"), "scheduled": named("t", "t", kind="task")},
            "Scheduled tasks names are not unique",
        ),
        (
            {"services": named("a", "a"), "aux_services": named("b", "b")},
            "Auxiliary services names are not unique",
        ),
        (
            {"services": [], "aux_services": named("b"), "init": actions("b")},
            "Init jobs names are not unique",
        ),
        (
            {"services": [], "init": actions("j"), "post_download": named("j")},
            "Post-download jobs names are not unique",
        ),
        ({"services": named("s"), "post_download": named("s")}, "Services names are not unique"),
        (
            {"services": named("s"), "pre_upload": actions("s"), "post_upload": named("q", "q")},
            "Pre-upload jobs names",
        ),
        (
            {"services": [], "pre_upload": actions("s"), "post_upload": named("s")},
            "Post-upload jobs names are not unique",
        ),
    ],
)
def test_first_failure_wins_in_spec_order(config, message):
    assert message in str(config_error(config))


def test_validate_accepts_the_example(example):
    example.validate()


def test_validate_works_on_built_configs():
    config = PluginConfig(services=[Service(name="a", run_sh="x")], post_upload=[Job(name="a", run_sh="y")])
    with pytest.raises(
        PluginConfigError, match=r"^post_upload\[0\]\.name: Post-upload jobs names are not unique"
    ):
        config.validate()


def test_from_json_does_not_validate_but_reports_shape_errors():
    config = PluginConfig.from_json({"services": named("a", "a")})
    assert len(config.services) == 2
    with pytest.raises(ShapeError):
        PluginConfig.from_json({})


# --- builders (spec §3.5, §8.1 test_plugin_config, §8.2 test_default_init / test_default_upload) --------


def test_constants():
    assert DOWNLOAD_JOB_NAME == "download"
    assert UPLOAD_JOB_NAME == "upload"
    assert ARCHIVE_RESTART.to_json() == {
        "backoff_timeout_ms": 600000,
        "backoff_base_ms": 500,
        "max_retries": 10,
    }
    assert SERVICE_RESTART.to_json() == {
        "backoff_timeout_ms": 60000,
        "backoff_base_ms": 1000,
        "max_retries": None,
    }


def test_protocol_service_job_config():
    service = Service(
        name="test_service",
        run_sh="/usr/bin/test",
        shutdown_timeout_secs=30,
        log_buffer_capacity_mb=10,
        log_timestamp=True,
    )
    config = build_service_job_config(service, ["init1", "init2"], ["download"])
    assert config == JobConfig(
        job_type=JobType.run_sh("/usr/bin/test"),
        restart=RestartPolicy.always(SERVICE_RESTART),
        shutdown_timeout_secs=30,
        needs=["init1", "init2"],
        wait_for=["download"],
        log_buffer_capacity_mb=10,
        log_timestamp=True,
        use_protocol_data=True,
    )


def test_non_protocol_service_job_config():
    service = Service(name="auxiliary_service", run_sh="/usr/bin/aux", use_protocol_data=False)
    config = build_service_job_config(service, ["init1"], ["download"])
    assert config.needs is None
    assert config.wait_for is None
    assert config.use_protocol_data is False
    assert config.to_json()["use_protocol_data"] is False


def test_aux_service_job_config(example):
    assert build_aux_service_job_config(example.aux_services[0]) == JobConfig(
        job_type=JobType.run_sh("monitoring_agent"),
        restart=RestartPolicy.always(RestartConfig(60000, 1000, 13)),
        shutdown_timeout_secs=120,
        shutdown_signal=PosixSignal.SIGINT,
        run_as="some_user",
        log_buffer_capacity_mb=256,
        log_timestamp=True,
        use_protocol_data=False,
    )
    bare = build_aux_service_job_config(AuxService(name="nginx", run_sh="nginx"))
    assert bare.restart == RestartPolicy.always(SERVICE_RESTART)
    assert (bare.needs, bare.wait_for, bare.use_protocol_data, bare.one_time) == (None, None, False, None)


def test_init_job_config(example):
    assert build_job_config(example.init.jobs[0]) == JobConfig(
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


def test_job_config_restart_and_absent_options():
    job = Job(name="j", run_sh="x")
    config = build_job_config(job)
    assert config == JobConfig(job_type=JobType.run_sh("x"), restart=RestartPolicy.never())
    assert config.use_protocol_data is None
    assert config.to_json()["use_protocol_data"] is None
    retried = attrs.evolve(job, restart=PluginRestartPolicy.on_failure(RestartConfig(1, 2, 3)))
    assert build_job_config(retried).restart == RestartPolicy.on_failure(RestartConfig(1, 2, 3))
    assert (
        build_job_config(attrs.evolve(job, restart=PluginRestartPolicy.never())).restart
        == RestartPolicy.never()
    )


def test_post_download_and_pre_post_upload_jobs_with_merged_needs(example):
    post_download = attrs.evolve(example.post_download[0], needs=["download"])
    assert build_job_config(post_download) == JobConfig(
        job_type=JobType.run_sh("echo restoreDB"),
        restart=RestartPolicy.never(),
        needs=["download"],
        use_protocol_data=True,
    )
    pre_upload = attrs.evolve(example.pre_upload.jobs[0], needs=[])
    assert build_job_config(pre_upload) == JobConfig(
        job_type=JobType.run_sh("echo dumpDB"), restart=RestartPolicy.never(), needs=[]
    )
    post_upload = attrs.evolve(example.post_upload[0], needs=["upload"])
    assert build_job_config(post_upload) == JobConfig(
        job_type=JobType.run_sh("echo cleanup_after_upload"), restart=RestartPolicy.never(), needs=["upload"]
    )


def test_download_job_config(example):
    config = build_download_job_config(example.download, ["init_job"])
    assert config == JobConfig(
        job_type=JobType.download(max_connections=5, max_runners=8),
        restart=RestartPolicy.on_failure(RestartConfig(60000, 1000, 5)),
        needs=["init_job"],
    )
    assert config.to_json() == {
        "job_type": {"download": {"max_connections": 5, "max_runners": 8}},
        "restart": {"on_failure": {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 5}},
        "shutdown_timeout_secs": None,
        "shutdown_signal": None,
        "needs": ["init_job"],
        "wait_for": None,
        "run_as": None,
        "log_buffer_capacity_mb": None,
        "log_timestamp": None,
        "use_protocol_data": None,
        "one_time": None,
    }


def test_download_job_config_without_config():
    assert build_download_job_config(None, []) == JobConfig(
        job_type=JobType.download(), restart=RestartPolicy.on_failure(ARCHIVE_RESTART), needs=[]
    )
    assert build_download_job_config(Download(max_runners=2), ["i"]) == JobConfig(
        job_type=JobType.download(max_runners=2),
        restart=RestartPolicy.on_failure(ARCHIVE_RESTART),
        needs=["i"],
    )


def test_alternative_download_job_config(example):
    assert build_alternative_download_job_config(example.alternative_download, ["init_job"]) == JobConfig(
        job_type=JobType.run_sh("/usr/bin/wget -q -O - some_url"),
        restart=RestartPolicy.on_failure(RestartConfig(60000, 10000, 3)),
        needs=["init_job"],
        run_as="some_user",
        log_buffer_capacity_mb=64,
        log_timestamp=True,
    )
    bare = build_alternative_download_job_config(AlternativeDownload(run_sh="get"), ["init_job"])
    assert bare == JobConfig(
        job_type=JobType.run_sh("get"), restart=RestartPolicy.never(), needs=["init_job"]
    )


def test_cold_init_job_config():
    cold = ColdInit(run_sh="init", restart_config=RestartConfig(1, 2), run_as="u", one_time=True)
    assert build_cold_init_job_config(cold, ["init_job"]) == JobConfig(
        job_type=JobType.run_sh("init"),
        restart=RestartPolicy.on_failure(RestartConfig(1, 2)),
        needs=["init_job"],
        run_as="u",
        one_time=True,
    )
    bare = build_cold_init_job_config(ColdInit(run_sh="init"), [])
    assert bare == JobConfig(job_type=JobType.run_sh("init"), restart=RestartPolicy.never(), needs=[])


def test_protocol_services_after_download_and_after_upload(example):
    service_a, service_b = example.services
    expected_a = JobConfig(
        job_type=JobType.run_sh(SERVICE_A_CMD),
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
    assert build_service_job_config(service_a, ["post_download_job"], []) == expected_a
    assert build_service_job_config(service_b, ["post_download_job"], []) == JobConfig(
        job_type=JobType.run_sh(
            "/usr/bin/protocol_service_b --chain=main --datadir=/blockjoy/protocol_data/A"
        ),
        restart=RestartPolicy.always(RestartConfig(60000, 1000, None)),
        needs=["post_download_job"],
        wait_for=[],
        use_protocol_data=True,
    )
    after_upload = build_service_job_config(service_a, [], ["post_upload_job"])
    assert after_upload == attrs.evolve(expected_a, needs=[], wait_for=["post_upload_job"])


def test_upload_job_config(example):
    assert build_upload_job_config(example.upload, ["pre_upload_job"]) == JobConfig(
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


def test_upload_job_config_without_config():
    config = build_upload_job_config(None, ["pre_upload_job"])
    assert config == JobConfig(
        job_type=JobType.upload(compression=Compression.zstd(3)),
        restart=RestartPolicy.on_failure(ARCHIVE_RESTART),
        needs=["pre_upload_job"],
    )
    assert config.to_json()["job_type"] == {
        "upload": {
            "exclude": None,
            "compression": {"ZSTD": 3},
            "max_connections": None,
            "max_runners": None,
            "number_of_chunks": None,
            "url_expires_secs": None,
            "data_version": None,
        }
    }


@pytest.mark.parametrize(
    ("compression", "expected"),
    [
        (None, Compression.zstd(3)),
        (PluginCompression.zstd(7), Compression.zstd(7)),
        (PluginCompression.none(), None),
    ],
)
def test_upload_compression_mapping(compression, expected):
    config = build_upload_job_config(Upload(compression=compression), [])
    assert config.job_type.data.compression == expected


def test_builders_copy_the_lists_they_are_given():
    needs = ["a"]
    config = build_download_job_config(None, needs)
    needs.append("b")
    assert config.needs == ["a"]
