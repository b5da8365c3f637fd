"""The built-in `init` and `upload` of a plugin that describes its node with `plugin_config()`.

Most protocol plugins need no code for these two: they declare config files, services, init and download
jobs, and the algorithms here turn that declaration into engine calls (spec §4). A script that does define
`init()` or `upload()` can still call them as `default_init()` / `default_upload()`.

Jobs of one list start together; ordering comes from `needs` alone. Each step hands the names of the jobs
it started to the next, so that services wait for the post-download jobs, which wait for the download,
which waits for the init jobs. Nothing here adds prefixes to names: a job is called as the config says,
and the built-in ones are "download" and "upload".
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from babel_api.engine import Engine
from babel_api.errors import PluginError
from babel_api.models import JobConfig
from babel_api.plugin_config import (
    DOWNLOAD_JOB_NAME,
    UPLOAD_JOB_NAME,
    Actions,
    AuxService,
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

MISSING_CONFIG = "Missing plugin_config function"


def default_init(engine: Engine, config: PluginConfig | None) -> None:
    """Bring the node up from its plugin config (spec §4.2).

    Stop everything, render config files, start aux services, run init commands and jobs, then, unless
    protocol data were already initialised, fetch them (the archive if one exists, else the plugin's
    alternative download, else its cold init), start the services and register the scheduled tasks.
    """
    config = _require(config)
    engine.stop_all_jobs()
    render_config_files(engine, config.config_files)
    start_aux_services(engine, config.aux_services)
    deps = run_actions(engine, config.init, [])
    if engine.protocol_data_stamp() is None:
        deps = _initialise_protocol_data(engine, config, deps)
    start_services(engine, config.services, needs=deps, wait_for=[])
    for task in config.scheduled or []:
        engine.add_task(task.name, task.schedule, task.function, task.param or "")


def default_upload(engine: Engine, config: PluginConfig | None) -> None:
    """Upload the node's protocol data to the archive (spec §4.3).

    The services that use protocol data are stopped so the data rest, pre-upload commands and jobs run,
    the built-in "upload" job and the post-upload jobs follow, and the stopped services come back once
    the last of those finished, whatever the result.
    """
    config = _require(config)
    protocol_services = [service for service in config.services if service.use_protocol_data]
    for service in protocol_services:
        engine.stop_job(service.name)
    pre_jobs = run_actions(engine, config.pre_upload, [])
    create_and_start(engine, UPLOAD_JOB_NAME, build_upload_job_config(config.upload, pre_jobs))
    post_jobs = run_jobs(engine, config.post_upload, [UPLOAD_JOB_NAME])
    start_services(engine, protocol_services, needs=[], wait_for=post_jobs)


def create_and_start(engine: Engine, name: str, config: JobConfig) -> None:
    """Create the job, and start it only if the creation succeeded."""
    engine.create_job(name, config)
    engine.start_job(name)


def run_actions(engine: Engine, actions: Actions | None, needs: list[str]) -> list[str]:
    """Run the commands one by one (any non-zero exit stops everything), then start the jobs after
    `needs`; return what the next step must wait for (see `run_jobs`)."""
    if actions is None:
        return needs
    for command in actions.commands:
        response = engine.run_sh(command)
        if response.exit_code != 0:
            raise PluginError(f"init command '{command}' failed with exit_code: {response!r}")
    return run_jobs(engine, actions.jobs, needs)


def run_jobs(engine: Engine, jobs: list[Job] | None, needs: list[str]) -> list[str]:
    """Start every job after its own `needs` and then `needs`; return the started names, or `needs`
    itself when there is no job, so the next step waits for whatever came before."""
    if not jobs:
        return needs
    for job in jobs:
        job = attrs.evolve(job, needs=[*(job.needs or []), *needs])
        create_and_start(engine, job.name, build_job_config(job))
    return [job.name for job in jobs]


def start_services(engine: Engine, services: list[Service], needs: list[str], wait_for: list[str]) -> None:
    """Start the services in order; those that use protocol data after `needs` and `wait_for`."""
    for service in services:
        create_and_start(engine, service.name, build_service_job_config(service, needs, wait_for))


def start_aux_services(engine: Engine, aux_services: list[AuxService] | None) -> None:
    """Start the aux services, which depend on nothing."""
    for aux in aux_services or []:
        create_and_start(engine, aux.name, build_aux_service_job_config(aux))


def render_config_files(engine: Engine, files: list[ConfigFile] | None) -> None:
    """Render each config file in order, its params as compact JSON with sorted keys."""
    for file in files or []:
        params = json.dumps(file.params, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        engine.render_template(Path(file.template), Path(file.destination), params)


def _initialise_protocol_data(engine: Engine, config: PluginConfig, init_jobs: list[str]) -> list[str]:
    """Start the job that fills the protocol data, after the init jobs; return what services wait for.

    The post-download jobs follow an archive or an alternative download, not a cold init. Without any
    of the three nothing starts and the services wait for the init jobs.
    """
    if engine.has_protocol_archive():
        download = build_download_job_config(config.download, init_jobs)
    elif config.alternative_download is not None:
        download = build_alternative_download_job_config(config.alternative_download, init_jobs)
    elif config.cold_init is not None:
        create_and_start(engine, DOWNLOAD_JOB_NAME, build_cold_init_job_config(config.cold_init, init_jobs))
        return [DOWNLOAD_JOB_NAME]
    else:
        return init_jobs
    create_and_start(engine, DOWNLOAD_JOB_NAME, download)
    return run_jobs(engine, config.post_download, [DOWNLOAD_JOB_NAME])


def _require(config: PluginConfig | None) -> PluginConfig:
    if config is None:
        raise PluginError(MISSING_CONFIG)
    return config
