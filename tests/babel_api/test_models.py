"""The Babel API data classes have the original's exact JSON shapes and renderings."""

import datetime
import signal
import sys

import pytest

from babel_api.models import (
    Compression,
    DownloadOptions,
    Finished,
    HttpResponse,
    JobConfig,
    JobInfo,
    JobProgress,
    JobStatus,
    JobType,
    JrpcRequest,
    NodeEnv,
    NodeHealth,
    Pending,
    PosixSignal,
    ProtocolStatus,
    RestartConfig,
    RestartPolicy,
    RestRequest,
    ShResponse,
    Timestamp,
    UploadOptions,
)
from babel_api.shapes import ShapeError

# The 36 names of spec §5.7, in its order.
SIGNAL_NAMES = [
    "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGEMT", "SIGFPE", "SIGHUP", "SIGILL",
    "SIGINFO", "SIGINT", "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR", "SIGQUIT",
    "SIGSEGV", "SIGSTOP", "SIGTSTP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTTIN", "SIGTTOU", "SIGUNUSED",
    "SIGURG", "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGXCPU", "SIGXFSZ", "SIGWINCH",
]  # fmt: skip


def round_trips(cls, plain, obj):
    """`plain` parses to `obj`, and `obj` serialises back to exactly `plain`."""
    assert cls.from_json(plain) == obj
    assert obj.to_json() == plain


def test_posix_signal_names():
    assert [s.value for s in PosixSignal] == SIGNAL_NAMES
    assert PosixSignal.from_json("SIGINT") is PosixSignal.SIGINT
    assert PosixSignal.SIGTERM.to_json() == "SIGTERM"
    with pytest.raises(ShapeError, match='got "sigint"'):
        PosixSignal.from_json("sigint")


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("SIGCLD", "SIGCHLD"),
        ("SIGEMT", "SIGTRAP"),
        ("SIGINFO", "SIGPWR"),
        ("SIGPOLL", "SIGIO"),
        ("SIGIOT", "SIGABRT"),
        ("SIGUNUSED", "SIGSYS"),
    ],
)
def test_posix_signal_aliases_map_to_linux(alias, target):
    assert PosixSignal(alias).linux_number() == PosixSignal(target).linux_number()


@pytest.mark.skipif(sys.platform != "linux", reason="Linux signal numbers")
def test_posix_signal_numbers_match_the_running_linux():
    aliases = {"SIGEMT": "SIGTRAP", "SIGINFO": "SIGPWR", "SIGUNUSED": "SIGSYS"}
    for sig in PosixSignal:
        assert sig.linux_number() == signal.Signals[aliases.get(sig.value, sig.value)].value, sig


def test_restart_policy_shapes():
    config = RestartConfig(backoff_timeout_ms=60000, backoff_base_ms=1000, max_retries=13)
    plain_config = {"backoff_timeout_ms": 60000, "backoff_base_ms": 1000, "max_retries": 13}
    round_trips(RestartConfig, plain_config, config)
    round_trips(RestartPolicy, "never", RestartPolicy.never())
    round_trips(RestartPolicy, {"always": plain_config}, RestartPolicy.always(config))
    round_trips(RestartPolicy, {"on_failure": plain_config}, RestartPolicy.on_failure(config))
    unlimited = RestartConfig.from_json({"backoff_timeout_ms": 1, "backoff_base_ms": 2})
    assert unlimited.max_retries is None
    assert unlimited.to_json() == {"backoff_timeout_ms": 1, "backoff_base_ms": 2, "max_retries": None}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("always", 'expected "never" or a map with one of always, on_failure, got "always"'),
        ({"on_failure": {"backoff_base_ms": 1}}, "on_failure.backoff_timeout_ms: missing required field"),
        (
            {"always": {"backoff_timeout_ms": 1, "backoff_base_ms": 1, "max_retries": -1}},
            "always.max_retries: expected an unsigned 32-bit integer (0 to 4294967295), got -1",
        ),
    ],
)
def test_restart_policy_errors(value, message):
    with pytest.raises(ShapeError) as info:
        RestartPolicy.from_json(value)
    assert str(info.value) == message


def test_compression_engine_flavour_is_zstd_only():
    round_trips(Compression, {"ZSTD": 5}, Compression.zstd(5))
    with pytest.raises(ShapeError, match='expected a map with one of ZSTD, got "NONE"'):
        Compression.from_json("NONE")


def test_job_type_shapes():
    round_trips(JobType, {"run_sh": "echo"}, JobType.run_sh("echo"))
    round_trips(
        JobType,
        {"download": {"max_connections": None, "max_runners": None}},
        JobType("download", DownloadOptions()),
    )
    assert JobType.from_json({"download": {}}) == JobType.download()
    assert JobType.from_json({"download": {"max_runners": 8}}) == JobType.download(max_runners=8)
    upload = {
        "upload": {
            "exclude": ["*.bak"],
            "compression": {"ZSTD": 3},
            "max_connections": 4,
            "max_runners": 12,
            "number_of_chunks": 700,
            "url_expires_secs": 240000,
            "data_version": 3,
        }
    }
    expected = JobType.upload(
        exclude=["*.bak"],
        compression=Compression.zstd(3),
        max_connections=4,
        max_runners=12,
        number_of_chunks=700,
        url_expires_secs=240000,
        data_version=3,
    )
    round_trips(JobType, upload, expected)
    assert expected.data == UploadOptions.from_json(upload["upload"])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("download", 'expected a map with one of run_sh, download, upload, got "download"'),
        ("run_sh", 'expected a map with one of run_sh, download, upload, got "run_sh"'),
        ({"download": None}, "download: expected a map, got null"),
        ({"run_sh": 5}, "run_sh: expected a string, got 5"),
        (
            {"upload": {"number_of_chunks": 2**32}},
            "upload.number_of_chunks: expected an unsigned 32-bit integer",
        ),
    ],
)
def test_job_type_errors(value, message):
    with pytest.raises(ShapeError) as info:
        JobType.from_json(value)
    assert str(info.value).startswith(message)


def test_job_config_full_shape():
    plain = {
        "job_type": {"run_sh": "job body"},
        "restart": {"on_failure": {"backoff_timeout_ms": 1000, "backoff_base_ms": 500, "max_retries": 3}},
        "shutdown_timeout_secs": 120,
        "shutdown_signal": "SIGINT",
        "needs": ["needed"],
        "wait_for": ["waited"],
        "run_as": "some_user",
        "log_buffer_capacity_mb": 256,
        "log_timestamp": True,
        "use_protocol_data": True,
        "one_time": False,
    }
    config = JobConfig(
        job_type=JobType.run_sh("job body"),
        restart=RestartPolicy.on_failure(RestartConfig(1000, 500, 3)),
        shutdown_timeout_secs=120,
        shutdown_signal=PosixSignal.SIGINT,
        needs=["needed"],
        wait_for=["waited"],
        run_as="some_user",
        log_buffer_capacity_mb=256,
        log_timestamp=True,
        use_protocol_data=True,
        one_time=False,
    )
    round_trips(JobConfig, plain, config)
    assert config.waiting_for() == ["needed", "waited"]


def test_job_config_minimal_shape_serialises_absent_options_as_null():
    config = JobConfig.from_json({"job_type": {"download": {}}, "restart": "never", "unknown": 1})
    assert config == JobConfig(job_type=JobType.download(), restart=RestartPolicy.never())
    assert config.to_json() == {
        "job_type": {"download": {"max_connections": None, "max_runners": None}},
        "restart": "never",
        "shutdown_timeout_secs": None,
        "shutdown_signal": None,
        "needs": None,
        "wait_for": None,
        "run_as": None,
        "log_buffer_capacity_mb": None,
        "log_timestamp": None,
        "use_protocol_data": None,
        "one_time": None,
    }
    assert config.waiting_for() == []


def test_job_config_requires_job_type_and_restart():
    with pytest.raises(ShapeError, match=r"^restart: missing required field$"):
        JobConfig.from_json({"job_type": {"run_sh": "x"}})
    with pytest.raises(ShapeError, match=r"^job_type: missing required field$"):
        JobConfig.from_json({"restart": "never"})
    with pytest.raises(ShapeError, match=r"^needs\[1\]: expected a string, got 2$"):
        JobConfig.from_json({"job_type": {"run_sh": "x"}, "restart": "never", "needs": ["a", 2]})


@pytest.mark.parametrize(
    ("plain", "status", "text"),
    [
        (
            {"pending": {"waiting_for": ["a", "b"]}},
            JobStatus.pending(["a", "b"]),
            'Pending (waiting for: ["a", "b"])',
        ),
        ({"pending": {"waiting_for": []}}, JobStatus.pending([]), "Pending (waiting for: [])"),
        ("running", JobStatus.running(), "Running"),
        ({"finished": {"exit_code": 3, "message": ""}}, JobStatus.finished(3), "Finished with exit code 3"),
        (
            {"finished": {"exit_code": 1, "message": "error msg"}},
            JobStatus.finished(1, "error msg"),
            "Finished with exit code 1 and message `error msg`",
        ),
        ({"finished": {"exit_code": None, "message": ""}}, JobStatus.finished(None), "Finished"),
        (
            {"finished": {"exit_code": None, "message": "needed job failed"}},
            JobStatus.finished(None, "needed job failed"),
            "Finished with message `needed job failed`",
        ),
        ("stopped", JobStatus.stopped(), "Stopped"),
    ],
)
def test_job_status_shapes_and_renderings(plain, status, text):
    round_trips(JobStatus, plain, status)
    assert str(status) == text


def test_job_status_payloads():
    assert JobStatus.pending(["a"]).data == Pending(["a"])
    assert JobStatus.finished(0, "ok").data == Finished(exit_code=0, message="ok")
    assert JobStatus.running().data is None
    with pytest.raises(ShapeError, match=r"^finished\.exit_code: expected a signed 32-bit integer"):
        JobStatus.from_json({"finished": {"exit_code": 2**31, "message": ""}})


def test_job_progress_shape_and_rendering():
    round_trips(JobProgress, {"total": 3, "current": 1, "message": "chunks"}, JobProgress(3, 1, "chunks"))
    assert str(JobProgress(3, 1, "chunks")) == "33.33% (1/3 chunks)"
    assert str(JobProgress(8, 8, "")) == "100.00% (8/8 )"
    assert str(JobProgress()) == "0.00% (0/0 )"
    assert JobProgress.from_json({}) == JobProgress(0, 0, "")


def test_job_info_matches_the_spec_example():
    plain = {
        "logs": [],
        "progress": None,
        "restart_count": 0,
        "status": {"finished": {"exit_code": 1, "message": "error msg"}},
        "timestamp": {"nanos_since_epoch": 0, "secs_since_epoch": 0},
        "upgrade_blocking": False,
    }
    info = JobInfo(status=JobStatus.finished(1, "error msg"), timestamp=Timestamp(0, 0))
    round_trips(JobInfo, plain, info)


def test_job_info_with_progress_and_logs():
    plain = {
        "status": "running",
        "timestamp": {"secs_since_epoch": 1700000000, "nanos_since_epoch": 5},
        "progress": {"total": 10, "current": 2, "message": "chunks"},
        "restart_count": 2,
        "logs": ["newest", "older"],
        "upgrade_blocking": True,
    }
    info = JobInfo(
        status=JobStatus.running(),
        timestamp=Timestamp(1700000000, 5),
        progress=JobProgress(10, 2, "chunks"),
        restart_count=2,
        logs=["newest", "older"],
        upgrade_blocking=True,
    )
    round_trips(JobInfo, plain, info)


def test_timestamp_conversions():
    stamp = Timestamp.from_nanos(1_700_000_000_123_456_789)
    assert stamp == Timestamp(1_700_000_000, 123_456_789)
    assert stamp.to_datetime() == datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=datetime.UTC)
    assert abs(Timestamp.now().to_datetime() - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(
        seconds=5
    )
    with pytest.raises(ShapeError, match=r"^nanos_since_epoch: expected an unsigned 32-bit integer"):
        Timestamp.from_json({"secs_since_epoch": 0, "nanos_since_epoch": -1})


def test_protocol_status():
    plain = {"state": "broadcasting", "health": "healthy"}
    round_trips(ProtocolStatus, plain, ProtocolStatus("broadcasting", NodeHealth.HEALTHY))
    status = ProtocolStatus.from_json({"state": "delinquent", "health": "unhealthy", "extra": 1})
    assert status == ProtocolStatus("delinquent", NodeHealth.UNHEALTHY)
    assert ProtocolStatus.from_json({"state": "x", "health": "neutral"}).health is NodeHealth.NEUTRAL
    with pytest.raises(ShapeError, match=r"^health: missing required field$"):
        ProtocolStatus.from_json({"state": "x"})
    with pytest.raises(
        ShapeError, match=r'^health: expected one of "healthy", "neutral", "unhealthy", got "ok"$'
    ):
        ProtocolStatus.from_json({"state": "x", "health": "ok"})


def test_responses():
    round_trips(HttpResponse, {"status_code": 200, "body": "{}"}, HttpResponse(200, "{}"))
    round_trips(ShResponse, {"exit_code": -1, "stdout": "out\n", "stderr": ""}, ShResponse(-1, "out\n", ""))
    with pytest.raises(ShapeError, match=r"^status_code: expected an unsigned 16-bit integer"):
        HttpResponse.from_json({"status_code": 70000, "body": ""})


def test_requests():
    plain = {
        "host": "http://localhost:4467/",
        "method": "health.health",
        "params": '{"chain":"x"}',
        "headers": [["content-type", "application/json"], ["a", "b"]],
    }
    request = JrpcRequest(
        host="http://localhost:4467/",
        method="health.health",
        params='{"chain":"x"}',
        headers=[("content-type", "application/json"), ("a", "b")],
    )
    round_trips(JrpcRequest, plain, request)
    bare = JrpcRequest(host="h", method="m")
    assert bare.to_json() == {"host": "h", "method": "m", "params": None, "headers": None}
    round_trips(RestRequest, {"url": "http://x", "headers": None}, RestRequest(url="http://x"))
    with pytest.raises(
        ShapeError, match=r"^headers\[0\]: expected a list of 2 items, got a list of 3 items$"
    ):
        RestRequest.from_json({"url": "u", "headers": [["a", "b", "c"]]})


def test_node_env():
    env = NodeEnv()
    assert env.to_json() == {
        "node_id": "",
        "node_name": "",
        "node_org_id": "",
        "node_version": "",
        "node_protocol": "",
        "node_variant": "",
        "node_ip": "",
        "node_gateway": "",
        "dev_mode": False,
        "bv_host_id": "",
        "bv_host_name": "",
        "bv_api_url": "",
        "data_mount_point": "",
        "protocol_data_path": "",
    }
    assert NodeEnv.from_json({}) == env
    full = NodeEnv(
        node_id="node_id",
        node_name="node name",
        node_variant="main",
        dev_mode=True,
        data_mount_point="/blockjoy",
        protocol_data_path="/blockjoy/protocol_data",
    )
    assert NodeEnv.from_json(full.to_json()) == full
    assert full.to_json()["protocol_data_path"] == "/blockjoy/protocol_data"
