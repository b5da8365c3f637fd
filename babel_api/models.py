"""The data a protocol plugin exchanges with the host: jobs, their status, requests and responses, node env.

Each class has the exact JSON shape of the original BlockVisor (spec §2.8, §5), so job configs and infos
persisted by one side read back on the other, and a Rhai script sees the same maps it always saw.
Conversion goes through `shapes`: `Cls.from_json(value)` and `obj.to_json()`.

Enums with data are small tagged classes: a `kind` naming the variant and one payload attribute, built with
class methods (`RestartPolicy.always(config)`, `JobType.run_sh("echo")`, `JobStatus.finished(0)`).
"""

from __future__ import annotations

import datetime
import enum
import json
import time
from typing import Any, ClassVar

import attrs

from babel_api.shapes import OMIT_IF_NONE, Int32, JsonShape, UInt16, UInt32, UInt64, valid_variant


class PosixSignal(JsonShape, enum.StrEnum):
    """A signal a job may be stopped with, serialised as its exact upper-case name (spec §5.7)."""

    SIGABRT = "SIGABRT"
    SIGALRM = "SIGALRM"
    SIGBUS = "SIGBUS"
    SIGCHLD = "SIGCHLD"
    SIGCLD = "SIGCLD"
    SIGCONT = "SIGCONT"
    SIGEMT = "SIGEMT"
    SIGFPE = "SIGFPE"
    SIGHUP = "SIGHUP"
    SIGILL = "SIGILL"
    SIGINFO = "SIGINFO"
    SIGINT = "SIGINT"
    SIGIO = "SIGIO"
    SIGIOT = "SIGIOT"
    SIGKILL = "SIGKILL"
    SIGPIPE = "SIGPIPE"
    SIGPOLL = "SIGPOLL"
    SIGPROF = "SIGPROF"
    SIGPWR = "SIGPWR"
    SIGQUIT = "SIGQUIT"
    SIGSEGV = "SIGSEGV"
    SIGSTOP = "SIGSTOP"
    SIGTSTP = "SIGTSTP"
    SIGSYS = "SIGSYS"
    SIGTERM = "SIGTERM"
    SIGTRAP = "SIGTRAP"
    SIGTTIN = "SIGTTIN"
    SIGTTOU = "SIGTTOU"
    SIGUNUSED = "SIGUNUSED"
    SIGURG = "SIGURG"
    SIGUSR1 = "SIGUSR1"
    SIGUSR2 = "SIGUSR2"
    SIGVTALRM = "SIGVTALRM"
    SIGXCPU = "SIGXCPU"
    SIGXFSZ = "SIGXFSZ"
    SIGWINCH = "SIGWINCH"

    def linux_number(self) -> int:
        """The Linux signal number to send; aliases (SIGCLD, SIGIOT, ...) map to their Linux equivalent."""
        return _LINUX_SIGNALS[_LINUX_ALIASES.get(self.value, self.value)]


# Linux numbers (x86, ARM and most other architectures) of the names that are not aliases.
_LINUX_SIGNALS = {
    "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7, "SIGFPE": 8,
    "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
    "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23,
    "SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30,
    "SIGSYS": 31,
}  # fmt: skip
_LINUX_ALIASES = {
    "SIGCLD": "SIGCHLD",
    "SIGEMT": "SIGTRAP",
    "SIGINFO": "SIGPWR",
    "SIGPOLL": "SIGIO",
    "SIGIOT": "SIGABRT",
    "SIGUNUSED": "SIGSYS",
}


@attrs.frozen
class RestartConfig(JsonShape):
    """Backoff of a restarting job: delay `backoff_base_ms` doubled per consecutive restart, reset after the
    job stayed up `backoff_timeout_ms`; at most `max_retries` restarts (None: unlimited)."""

    backoff_timeout_ms: UInt64
    backoff_base_ms: UInt64
    max_retries: UInt32 | None = None


@attrs.frozen
class RestartPolicy(JsonShape):
    """When babel restarts a job: `"never"` | `{"always": RestartConfig}` | `{"on_failure": RestartConfig}`
    (on failure: after a non-zero exit code only)."""

    VARIANTS: ClassVar = {"never": None, "always": RestartConfig, "on_failure": RestartConfig}

    kind: str = attrs.field(validator=valid_variant)
    config: RestartConfig | None = None

    @classmethod
    def never(cls) -> RestartPolicy:
        return cls("never")

    @classmethod
    def always(cls, config: RestartConfig) -> RestartPolicy:
        return cls("always", config)

    @classmethod
    def on_failure(cls, config: RestartConfig) -> RestartPolicy:
        """Restart only after a non-zero exit code."""
        return cls("on_failure", config)


@attrs.frozen
class Compression(JsonShape):
    """Chunk compression of a transfer job; the engine knows only `{"ZSTD": level}` (none = absent)."""

    VARIANTS: ClassVar = {"ZSTD": Int32}

    kind: str = attrs.field(validator=valid_variant)
    level: int | None = None

    @classmethod
    def zstd(cls, level: int) -> Compression:
        return cls("ZSTD", level)


@attrs.frozen(kw_only=True)
class DownloadOptions(JsonShape):
    """Tuning of the built-in download job; None leaves babel's default."""

    max_connections: UInt64 | None = None
    max_runners: UInt64 | None = None


@attrs.frozen(kw_only=True)
class UploadOptions(JsonShape):
    """Tuning of the built-in upload job; None leaves babel's (or the API's) choice."""

    exclude: list[str] | None = None
    compression: Compression | None = None
    max_connections: UInt64 | None = None
    max_runners: UInt64 | None = None
    number_of_chunks: UInt32 | None = None
    url_expires_secs: UInt32 | None = None
    data_version: UInt64 | None = None


@attrs.frozen
class JobType(JsonShape):
    """What a job runs: `{"run_sh": body}` | `{"download": {...}}` | `{"upload": {...}}` (spec §5.2)."""

    VARIANTS: ClassVar = {"run_sh": str, "download": DownloadOptions, "upload": UploadOptions}

    kind: str = attrs.field(validator=valid_variant)
    data: str | DownloadOptions | UploadOptions | None = None

    @classmethod
    def run_sh(cls, body: str) -> JobType:
        """A foreground shell script."""
        return cls("run_sh", body)

    @classmethod
    def download(cls, **options: Any) -> JobType:
        """The built-in download job; `options` are the fields of `DownloadOptions`."""
        return cls("download", DownloadOptions(**options))

    @classmethod
    def upload(cls, **options: Any) -> JobType:
        """The built-in upload job; `options` are the fields of `UploadOptions`."""
        return cls("upload", UploadOptions(**options))


@attrs.frozen(kw_only=True)
class JobConfig(JsonShape):
    """Everything babel needs to run one job (spec §5.1). Absent options take babel's defaults."""

    job_type: JobType
    restart: RestartPolicy
    shutdown_timeout_secs: UInt64 | None = None
    shutdown_signal: PosixSignal | None = None
    needs: list[str] | None = None
    wait_for: list[str] | None = None
    run_as: str | None = None
    log_buffer_capacity_mb: UInt64 | None = None
    log_timestamp: bool | None = None
    use_protocol_data: bool | None = None
    one_time: bool | None = None

    def waiting_for(self) -> list[str]:
        """The jobs a freshly started job waits for: `needs` followed by `wait_for`."""
        return [*(self.needs or []), *(self.wait_for or [])]


@attrs.frozen
class Pending(JsonShape):
    """Data of a pending job: the jobs it still waits for."""

    waiting_for: list[str] = attrs.field(factory=list)


@attrs.frozen
class Finished(JsonShape):
    """Data of a finished job; `exit_code` None: it failed without a process (e.g. a needed job failed)."""

    exit_code: Int32 | None = None
    message: str = ""


@attrs.frozen
class JobStatus(JsonShape):
    """`{"pending": {...}}` | `"running"` | `{"finished": {...}}` | `"stopped"` (spec §2.8, §5.4)."""

    VARIANTS: ClassVar = {"pending": Pending, "running": None, "finished": Finished, "stopped": None}

    kind: str = attrs.field(validator=valid_variant)
    data: Pending | Finished | None = None

    @classmethod
    def pending(cls, waiting_for: list[str]) -> JobStatus:
        return cls("pending", Pending(list(waiting_for)))

    @classmethod
    def running(cls) -> JobStatus:
        return cls("running")

    @classmethod
    def finished(cls, exit_code: int | None, message: str = "") -> JobStatus:
        return cls("finished", Finished(exit_code, message))

    @classmethod
    def stopped(cls) -> JobStatus:
        return cls("stopped")

    def __str__(self) -> str:
        if isinstance(self.data, Pending):
            names = ", ".join(json.dumps(name, ensure_ascii=False) for name in self.data.waiting_for)
            return f"Pending (waiting for: [{names}])"
        if isinstance(self.data, Finished):
            parts = ["Finished"]
            if self.data.exit_code is not None:
                parts.append(f"with exit code {self.data.exit_code}")
            if self.data.message:
                parts.append(
                    f"{'and' if self.data.exit_code is not None else 'with'} message `{self.data.message}`"
                )
            return " ".join(parts)
        return self.kind.capitalize()


@attrs.frozen
class JobProgress(JsonShape):
    """Progress reported by a transfer job: chunks done of all chunks, and for transfers the bytes done
    of all bytes and the current rate (absent from the original's files, and ignored by it)."""

    total: UInt32 = 0
    current: UInt32 = 0
    message: str = ""
    bytes_total: UInt64 | None = attrs.field(default=None, metadata={OMIT_IF_NONE: True})
    bytes_current: UInt64 | None = attrs.field(default=None, metadata={OMIT_IF_NONE: True})
    bytes_per_second: float | None = attrs.field(default=None, metadata={OMIT_IF_NONE: True})

    def __str__(self) -> str:
        percent = self.current * 100 / self.total if self.total else 0.0
        return f"{percent:.2f}% ({self.current}/{self.total} {self.message})"


@attrs.frozen
class Timestamp(JsonShape):
    """A point in time as Rust serialises `SystemTime`: whole seconds and nanoseconds since the Unix epoch."""

    secs_since_epoch: UInt64
    nanos_since_epoch: UInt32

    @classmethod
    def from_nanos(cls, nanos: int) -> Timestamp:
        """From nanoseconds since the epoch, as `time.time_ns()` and `os.stat().st_mtime_ns` give them."""
        return cls(*divmod(nanos, 1_000_000_000))

    @classmethod
    def now(cls) -> Timestamp:
        return cls.from_nanos(time.time_ns())

    def to_datetime(self) -> datetime.datetime:
        """An aware UTC datetime (microsecond precision)."""
        seconds = datetime.timedelta(
            seconds=self.secs_since_epoch, microseconds=self.nanos_since_epoch // 1000
        )
        return datetime.datetime.fromtimestamp(0, datetime.UTC) + seconds


@attrs.frozen(kw_only=True)
class JobInfo(JsonShape):
    """What a script learns about a job: status, when it last changed, progress, restarts, recent logs."""

    status: JobStatus
    timestamp: Timestamp
    progress: JobProgress | None = None
    restart_count: UInt64 = 0
    logs: list[str] = attrs.field(factory=list)
    upgrade_blocking: bool = False


class NodeHealth(JsonShape, enum.StrEnum):
    """Health part of a protocol status."""

    HEALTHY = "healthy"
    NEUTRAL = "neutral"
    UNHEALTHY = "unhealthy"


@attrs.frozen
class ProtocolStatus(JsonShape):
    """What `protocol_status()` returns: a free-form `state` and a `health`; both required."""

    state: str
    health: NodeHealth


@attrs.frozen
class HttpResponse(JsonShape):
    """Status and body of an HTTP call made from inside the node; any status is a response, not an error."""

    status_code: UInt16
    body: str


@attrs.frozen
class ShResponse(JsonShape):
    """Exit code and decoded output of a shell command run inside the node."""

    exit_code: Int32
    stdout: str
    stderr: str


@attrs.frozen(kw_only=True)
class JrpcRequest(JsonShape):
    """A JSON-RPC call: POST to `host`; `params` is JSON text; `headers` are (name, value) pairs in order."""

    host: str
    method: str
    params: str | None = None
    headers: list[tuple[str, str]] | None = None


@attrs.frozen(kw_only=True)
class RestRequest(JsonShape):
    """A REST call: GET `url` with optional (name, value) header pairs."""

    url: str
    headers: list[tuple[str, str]] | None = None


@attrs.frozen(kw_only=True)
class NodeEnv(JsonShape):
    """The node as a script sees it through `node_env()` (spec §5.9); every field defaults to empty/false."""

    node_id: str = ""
    node_name: str = ""
    node_org_id: str = ""
    node_version: str = ""
    node_protocol: str = ""
    node_variant: str = ""
    node_ip: str = ""
    node_gateway: str = ""
    dev_mode: bool = False
    bv_host_id: str = ""
    bv_host_name: str = ""
    bv_api_url: str = ""
    data_mount_point: str = ""
    protocol_data_path: str = ""
