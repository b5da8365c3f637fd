"""`PluginConfig`: the declarative description of a node that `plugin_config()` returns (spec §3).

A protocol plugin describes its node as data: config files to render, services, init and post-download
jobs, how to download and upload protocol data, scheduled tasks. This module parses that data (the map a
Rhai script returns, or the JSON persisted by `save_config`), validates it with errors that name the field
(`services[1].name: Services names are not unique ("a" is used twice)`), and maps each part to the
`JobConfig` babel runs (§3.5). The default init/upload algorithms that use these builders live elsewhere.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from babel_api.models import (
    Compression,
    JobConfig,
    JobType,
    PosixSignal,
    RestartConfig,
    RestartPolicy,
)
from babel_api.shapes import Int32, JsonShape, ShapeError, UInt32, UInt64, structure, valid_variant

DOWNLOAD_JOB_NAME = "download"
COLD_INIT_JOB_NAME = DOWNLOAD_JOB_NAME
UPLOAD_JOB_NAME = "upload"
DOWNLOADING_STATE_NAME = "downloading"
UPLOADING_STATE_NAME = "uploading"
STARTING_STATE_NAME = "starting"

ARCHIVE_RESTART = RestartConfig(backoff_timeout_ms=600_000, backoff_base_ms=500, max_retries=10)
"""Restart config of the download and upload jobs unless the plugin gives one."""
SERVICE_RESTART = RestartConfig(backoff_timeout_ms=60_000, backoff_base_ms=1_000, max_retries=None)
"""Restart config of services and aux services unless the plugin gives one."""
DEFAULT_UPLOAD_COMPRESSION = Compression.zstd(3)

_RESERVED_NAMES = (UPLOAD_JOB_NAME, DOWNLOAD_JOB_NAME)


class PluginConfigError(ValueError):
    """A plugin config that does not parse or does not validate; `path` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@attrs.frozen
class PluginRestartPolicy(JsonShape):
    """Restart policy of a config job: `"never"` or `{"on_failure": RestartConfig}` (no `always` here)."""

    VARIANTS: ClassVar = {"never": None, "on_failure": RestartConfig}

    kind: str = attrs.field(validator=valid_variant)
    config: RestartConfig | None = None

    @classmethod
    def never(cls) -> PluginRestartPolicy:
        return cls("never")

    @classmethod
    def on_failure(cls, config: RestartConfig) -> PluginRestartPolicy:
        return cls("on_failure", config)


@attrs.frozen
class PluginCompression(JsonShape):
    """Upload compression as a plugin writes it: `"NONE"` or `{"ZSTD": level}` (upper-case tags)."""

    VARIANTS: ClassVar = {"NONE": None, "ZSTD": Int32}

    kind: str = attrs.field(validator=valid_variant)
    level: int | None = None

    @classmethod
    def none(cls) -> PluginCompression:
        return cls("NONE")

    @classmethod
    def zstd(cls, level: int) -> PluginCompression:
        return cls("ZSTD", level)


@attrs.frozen(kw_only=True)
class ConfigFile(JsonShape):
    """A Tera template rendered at init to `destination` with `params` (normally a map)."""

    template: str
    destination: str
    params: Any


@attrs.frozen(kw_only=True)
class AuxService(JsonShape):
    """A helper service (monitoring, proxies): no init dependencies, never uses protocol data."""

    name: str
    run_sh: str
    restart_config: RestartConfig | None = None
    shutdown_timeout_secs: UInt64 | None = None
    shutdown_signal: PosixSignal | None = None
    run_as: str | None = None
    log_buffer_capacity_mb: UInt64 | None = None
    log_timestamp: bool | None = None


@attrs.frozen(kw_only=True)
class Job(JsonShape):
    """A run-to-completion shell job (init, post-download, pre/post-upload)."""

    name: str
    run_sh: str
    restart: PluginRestartPolicy | None = None
    shutdown_timeout_secs: UInt64 | None = None
    shutdown_signal: PosixSignal | None = None
    needs: list[str] | None = None
    run_as: str | None = None
    log_buffer_capacity_mb: UInt64 | None = None
    log_timestamp: bool | None = None
    use_protocol_data: bool | None = None
    one_time: bool | None = None


@attrs.frozen(kw_only=True)
class Actions(JsonShape):
    """Shell commands run one by one, then jobs started (both lists required, may be empty)."""

    commands: list[str]
    jobs: list[Job]


@attrs.frozen(kw_only=True)
class Service(JsonShape):
    """A long-running protocol service. With `use_protocol_data` (the default) it starts after init and
    download and is stopped while protocol data are uploaded."""

    name: str
    run_sh: str
    restart_config: RestartConfig | None = None
    shutdown_timeout_secs: UInt64 | None = None
    shutdown_signal: PosixSignal | None = None
    run_as: str | None = None
    use_protocol_data: bool = True
    log_buffer_capacity_mb: UInt64 | None = None
    log_timestamp: bool | None = None


@attrs.frozen(kw_only=True)
class Download(JsonShape):
    """Tuning of the built-in download job."""

    restart_config: RestartConfig | None = None
    max_connections: UInt64 | None = None
    max_runners: UInt64 | None = None


@attrs.frozen(kw_only=True)
class AlternativeDownload(JsonShape):
    """A script that fetches protocol data when no archive exists."""

    run_sh: str
    restart_config: RestartConfig | None = None
    run_as: str | None = None
    log_buffer_capacity_mb: UInt64 | None = None
    log_timestamp: bool | None = None


@attrs.frozen(kw_only=True)
class ColdInit(AlternativeDownload):
    """Last-resort initialisation of protocol data when neither an archive nor an alternative exists:
    an alternative download that may run only once."""

    one_time: bool | None = None


@attrs.frozen(kw_only=True)
class Upload(JsonShape):
    """Tuning of the built-in upload job."""

    restart_config: RestartConfig | None = None
    exclude: list[str] | None = None
    compression: PluginCompression | None = None
    max_connections: UInt64 | None = None
    max_runners: UInt64 | None = None
    number_of_chunks: UInt32 | None = None
    url_expires_secs: UInt32 | None = None
    data_version: UInt64 | None = None


@attrs.frozen(kw_only=True)
class Task(JsonShape):
    """A script function called on a cron `schedule` (6 or 7 fields, seconds first) with `param`."""

    name: str
    schedule: str
    function: str
    param: str | None = None


@attrs.frozen(kw_only=True)
class PluginConfig(JsonShape):
    """The whole node description; only `services` is required (and may be empty)."""

    config_files: list[ConfigFile] | None = None
    aux_services: list[AuxService] | None = None
    init: Actions | None = None
    download: Download | None = None
    alternative_download: AlternativeDownload | None = None
    post_download: list[Job] | None = None
    cold_init: ColdInit | None = None
    services: list[Service]
    pre_upload: Actions | None = None
    upload: Upload | None = None
    post_upload: list[Job] | None = None
    scheduled: list[Task] | None = None

    @classmethod
    def from_script(cls, value: Any) -> PluginConfig:
        """Parse and validate what `plugin_config()` returned; raise `PluginConfigError` naming the field."""
        try:
            config = structure(cls, value)
        except ShapeError as error:
            raise PluginConfigError(error.path, error.message) from None
        config.validate()
        return config

    def validate(self) -> None:
        """Check that names are unique (spec §3.4); the first failure raises `PluginConfigError`.

        Scheduled tasks have names of their own. Jobs of every kind share one set of names, in which
        "upload" and "download" are taken from the start by the built-in jobs.
        """
        _check_unique("scheduled", self.scheduled, "Scheduled tasks names are not unique", {})
        used: dict[str, str | None] = dict.fromkeys(_RESERVED_NAMES)
        for path, items, message in (
            ("aux_services", self.aux_services, "Auxiliary services names are not unique"),
            ("init.jobs", self.init and self.init.jobs, "Init jobs names are not unique"),
            ("post_download", self.post_download, "Post-download jobs names are not unique"),
            ("services", self.services, "Services names are not unique"),
            (
                "pre_upload.jobs",
                self.pre_upload and self.pre_upload.jobs,
                "Pre-upload jobs names are not unique",
            ),
            ("post_upload", self.post_upload, "Post-upload jobs names are not unique"),
        ):
            _check_unique(path, items, message, used)


def _check_unique(path: str, items: list | None, message: str, used: dict[str, str | None]) -> None:
    """Add the name of every item of the list at `path` to `used` (name -> place of first use, None if
    reserved); a name already there fails with `message`."""
    for index, item in enumerate(items or []):
        item_path = f"{path}[{index}]"
        if item.name in used:
            first = used[item.name]
            if first is None:
                why = "is reserved for the built-in job"
            elif first.startswith(f"{path}["):
                why = "is used twice"
            else:
                why = f"is already used by {first}"
            raise PluginConfigError(f"{item_path}.name", f'{message} ("{item.name}" {why})')
        used[item.name] = item_path


def build_job_config(job: Job) -> JobConfig:
    """A config job: its script, `never` unless it asks for `on_failure`, its own `needs`."""
    on_failure = job.restart is not None and job.restart.kind == "on_failure"
    return JobConfig(
        job_type=JobType.run_sh(job.run_sh),
        restart=RestartPolicy.on_failure(job.restart.config) if on_failure else RestartPolicy.never(),
        shutdown_timeout_secs=job.shutdown_timeout_secs,
        shutdown_signal=job.shutdown_signal,
        needs=_copy(job.needs),
        run_as=job.run_as,
        log_buffer_capacity_mb=job.log_buffer_capacity_mb,
        log_timestamp=job.log_timestamp,
        use_protocol_data=job.use_protocol_data,
        one_time=job.one_time,
    )


def build_service_job_config(service: Service, needs: list[str], wait_for: list[str]) -> JobConfig:
    """A service restarts always; only a protocol-data service waits for `needs` and `wait_for`."""
    return JobConfig(
        job_type=JobType.run_sh(service.run_sh),
        restart=RestartPolicy.always(service.restart_config or SERVICE_RESTART),
        shutdown_timeout_secs=service.shutdown_timeout_secs,
        shutdown_signal=service.shutdown_signal,
        needs=list(needs) if service.use_protocol_data else None,
        wait_for=list(wait_for) if service.use_protocol_data else None,
        run_as=service.run_as,
        log_buffer_capacity_mb=service.log_buffer_capacity_mb,
        log_timestamp=service.log_timestamp,
        use_protocol_data=service.use_protocol_data,
    )


def build_aux_service_job_config(aux: AuxService) -> JobConfig:
    """An aux service is a service that never uses protocol data, hence has no dependencies."""
    service = Service(
        name=aux.name,
        run_sh=aux.run_sh,
        restart_config=aux.restart_config,
        shutdown_timeout_secs=aux.shutdown_timeout_secs,
        shutdown_signal=aux.shutdown_signal,
        run_as=aux.run_as,
        use_protocol_data=False,
        log_buffer_capacity_mb=aux.log_buffer_capacity_mb,
        log_timestamp=aux.log_timestamp,
    )
    return build_service_job_config(service, [], [])


def build_download_job_config(download: Download | None, init_jobs: list[str]) -> JobConfig:
    """The built-in download job, after the init jobs; retried with ARCHIVE_RESTART unless configured."""
    download = download or Download()
    return JobConfig(
        job_type=JobType.download(max_connections=download.max_connections, max_runners=download.max_runners),
        restart=RestartPolicy.on_failure(download.restart_config or ARCHIVE_RESTART),
        needs=list(init_jobs),
    )


def build_alternative_download_job_config(alt: AlternativeDownload, init_jobs: list[str]) -> JobConfig:
    """The plugin's own download script, after the init jobs; restarted only if it has a restart config."""
    return JobConfig(
        job_type=JobType.run_sh(alt.run_sh),
        restart=_on_failure_or_never(alt.restart_config),
        needs=list(init_jobs),
        run_as=alt.run_as,
        log_buffer_capacity_mb=alt.log_buffer_capacity_mb,
        log_timestamp=alt.log_timestamp,
    )


def build_cold_init_job_config(cold: ColdInit, init_jobs: list[str]) -> JobConfig:
    """As the alternative download, and possibly a one-time job."""
    return JobConfig(
        job_type=JobType.run_sh(cold.run_sh),
        restart=_on_failure_or_never(cold.restart_config),
        needs=list(init_jobs),
        run_as=cold.run_as,
        log_buffer_capacity_mb=cold.log_buffer_capacity_mb,
        log_timestamp=cold.log_timestamp,
        one_time=cold.one_time,
    )


def build_upload_job_config(upload: Upload | None, pre_jobs: list[str]) -> JobConfig:
    """The built-in upload job, after the pre-upload jobs; ZSTD(3) unless the plugin says otherwise
    ("NONE" uploads uncompressed); retried with ARCHIVE_RESTART unless configured."""
    upload = upload or Upload()
    if upload.compression is None:
        compression = DEFAULT_UPLOAD_COMPRESSION
    elif upload.compression.kind == "ZSTD":
        compression = Compression.zstd(upload.compression.level)
    else:
        compression = None
    return JobConfig(
        job_type=JobType.upload(
            exclude=_copy(upload.exclude),
            compression=compression,
            max_connections=upload.max_connections,
            max_runners=upload.max_runners,
            number_of_chunks=upload.number_of_chunks,
            url_expires_secs=upload.url_expires_secs,
            data_version=upload.data_version,
        ),
        restart=RestartPolicy.on_failure(upload.restart_config or ARCHIVE_RESTART),
        needs=list(pre_jobs),
    )


def _on_failure_or_never(config: RestartConfig | None) -> RestartPolicy:
    return RestartPolicy.on_failure(config) if config is not None else RestartPolicy.never()


def _copy(names: list[str] | None) -> list[str] | None:
    return None if names is None else list(names)
