"""The host side of the Babel engine for one node: what its protocol plugin may ask of the host.

The plugin runs in the daemon; everything it does inside the node (jobs, commands, HTTP calls, files,
templates) goes to the node's agent over its socket. What the host keeps itself lives in the node's
folder: `plugin.data` (save_data) and `plugin_config.json` (save_config), both written atomically.
Secrets come from the host's secret store, tasks go to the scheduler, and the archive the download job
would use is asked of the snapshots plugin, which may be absent.

An error from the agent reaches the script as the agent's message alone, e.g. "can't start, job 'x'
not found", the way a Rhai `catch (err)` of the original saw it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from loguru import logger

from babel_api.engine import LOG_LEVELS, LogLevel
from babel_api.models import HttpResponse, JobConfig, JobInfo, JrpcRequest, NodeEnv, RestRequest, ShResponse
from babel_api.plugin_config import DOWNLOAD_JOB_NAME, PluginConfig
from babel_api.shell import sanitize_sh_param
from blockvisor_core.agent.client import AgentCallError, AgentClient
from blockvisor_core.files import write_atomic
from blockvisor_core.nodes.scheduler import Scheduler, Task
from blockvisor_core.plugins import plugin_manager
from blockvisor_core.secrets import SecretStore

DATA_FILE = "plugin.data"
CONFIG_FILE = "plugin_config.json"
#: Added to a job's shutdown timeout for the deadline of stopping it (spec §3.8).
STOP_MARGIN_SECS = 15.0

_LOGURU_LEVELS = {"debug": "DEBUG", "info": "INFO", "warn": "WARNING", "error": "ERROR"}

T = TypeVar("T")


class EngineError(Exception):
    """A request of the plugin that the host or the node's agent refused; the text is the reason."""


class EngineNode(Protocol):
    """What the engine needs of its node (the nodes manager's `Node`)."""

    id: str
    dir: Path

    def params(self) -> dict[str, str]: ...

    def node_env(self) -> NodeEnv: ...

    def agent_call(self, call: Callable[[AgentClient], T], timeout: float | None = None) -> T:
        """`call` with a client of the node's agent (deadline `timeout`, None: the default), retried
        while the agent is unreachable; raises `AgentCallError`."""
        ...


class HostEngine:
    """`babel_api.engine.Engine` for one node."""

    def __init__(self, node: EngineNode, scheduler: Scheduler, secrets: SecretStore) -> None:
        self.node = node
        self.scheduler = scheduler
        self.secrets = secrets

    def _agent(self, call: Callable[[AgentClient], T], timeout: float | None = None) -> T:
        try:
            return self.node.agent_call(call, timeout)
        except AgentCallError as error:
            raise EngineError(error.message or error.code) from None

    # -- jobs ------------------------------------------------------------------------------------------------

    def create_job(self, name: str, config: JobConfig) -> None:
        name = name.strip()
        if not name:
            raise EngineError("empty job name is not allowed")
        if name == DOWNLOAD_JOB_NAME and not self.has_protocol_archive():
            raise EngineError(f"manifest not available for node {self.node.id}: its archive holds no data")
        self._agent(lambda agent: agent.create_job(name, config))

    def start_job(self, name: str) -> None:
        self._agent(lambda agent: agent.start_job(name))

    def stop_job(self, name: str) -> None:
        timeout = self._agent(lambda agent: agent.get_job_shutdown_timeout(name)) + STOP_MARGIN_SECS
        self._agent(lambda agent: agent.stop_job(name), timeout)

    def stop_all_jobs(self) -> None:
        timeout = self._agent(lambda agent: agent.get_active_jobs_shutdown_timeout()) + STOP_MARGIN_SECS
        self._agent(lambda agent: agent.stop_all_jobs(), timeout)

    def cleanup_job(self, name: str) -> None:
        self._agent(lambda agent: agent.cleanup_job(name))

    def job_info(self, name: str) -> JobInfo:
        return self._agent(lambda agent: agent.job_info(name))

    def get_jobs(self) -> dict[str, JobInfo]:
        return self._agent(lambda agent: agent.get_jobs())

    # -- commands and calls made inside the node -------------------------------------------------------------

    def run_jrpc(self, req: JrpcRequest, timeout: float | None = None) -> HttpResponse:
        return self._agent(lambda agent: agent.run_jrpc(req, timeout))

    def run_rest(self, req: RestRequest, timeout: float | None = None) -> HttpResponse:
        return self._agent(lambda agent: agent.run_rest(req, timeout))

    def run_sh(self, body: str, timeout: float | None = None) -> ShResponse:
        return self._agent(lambda agent: agent.run_sh(body, timeout))

    def sanitize_sh_param(self, param: str) -> str:
        return sanitize_sh_param(param)

    def render_template(self, template: Path, destination: Path, params_json: str) -> None:
        self._agent(lambda agent: agent.render_template(str(template), str(destination), params_json))

    # -- what the node is ------------------------------------------------------------------------------------

    def node_params(self) -> dict[str, str]:
        return self.node.params()

    def node_env(self) -> NodeEnv:
        return self.node.node_env()

    # -- state a plugin keeps --------------------------------------------------------------------------------

    def save_data(self, value: str) -> None:
        write_atomic(self.node.dir / DATA_FILE, value, mode=0o600)

    def load_data(self) -> str:
        return (self.node.dir / DATA_FILE).read_text()

    def save_config(self, config: PluginConfig) -> None:
        try:
            write_atomic(self.node.dir / CONFIG_FILE, json.dumps(config.to_json(), indent=2) + "\n")
        except OSError as error:
            raise EngineError(f"failed to save plugin config: {error}") from None

    def load_config(self) -> PluginConfig | None:
        try:
            text = (self.node.dir / CONFIG_FILE).read_text()
        except FileNotFoundError:
            return None
        return PluginConfig.from_json(json.loads(text))

    def get_secret(self, name: str) -> bytes | None:
        return self.secrets.get(self.node.id, name)

    def put_secret(self, name: str, value: bytes) -> None:
        self.secrets.put(self.node.id, name, bytes(value))

    def file_read(self, path: Path) -> bytes:
        return self._agent(lambda agent: agent.file_read(str(path)))

    def file_write(self, path: Path, content: bytes) -> None:
        self._agent(lambda agent: agent.file_write(str(path), bytes(content)))

    # -- protocol data ---------------------------------------------------------------------------------------

    def protocol_data_stamp(self) -> datetime.datetime | None:
        stamp = self._agent(lambda agent: agent.protocol_data_stamp())
        return None if stamp is None else datetime.datetime.fromtimestamp(stamp, datetime.UTC)

    def has_protocol_archive(self) -> bool:
        """Whether the node's archive (from its archive config, through the snapshots plugin) has a
        published version. No archive config, or no plugin that reads it: False."""
        archive = plugin_manager().hook.archive_api(node_dir=self.node.dir, node_env=self.node.node_env())
        if archive is None:
            return False
        try:
            archive.get_download_metadata()
        except LookupError:
            return False
        return True

    # -- housekeeping ----------------------------------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        if level not in LOG_LEVELS:
            raise EngineError(f"unknown log level {level!r}, expected one of {', '.join(LOG_LEVELS)}")
        logger.log(_LOGURU_LEVELS[level], "node_id: {}|{}", self.node.id, message)

    def add_task(self, name: str, schedule: str, function: str, param: str) -> None:
        task = Task(node_id=self.node.id, name=name, schedule=schedule, function=function, param=param or "")
        try:
            self.scheduler.add(task)
        except ValueError as error:
            raise EngineError(str(error)) from None

    def delete_task(self, name: str) -> None:
        self.scheduler.delete(self.node.id, name)
