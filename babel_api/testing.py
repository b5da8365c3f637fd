"""Test kit for protocol plugins: a recording fake engine and pytest fixtures.

A protocol team tests its plugin with plain pytest, without a host, a node or a network. Installing
blockvisor registers this module as a pytest plugin (entry point group `pytest11`), so its fixtures are
available in every test without an import:

    from babel_api.models import HttpResponse

    def test_init_starts_the_services(rhai_plugin, fake_engine):
        plugin = rhai_plugin("node_images/my_chain", node_params={"network": "mainnet"})
        plugin.init()
        assert fake_engine.started == ["init_job", "download", "my_service"]
        assert fake_engine.jobs["my_service"].needs == ["download"]

    def test_height(rhai_plugin, fake_engine):
        fake_engine.on_run_jrpc = lambda request, timeout: HttpResponse(200, '{"result": "0xa1"}')
        assert rhai_plugin("node_images/my_chain").height() == 161

Fixtures:

* `fake_engine` — a `FakeEngine` with a default `NodeEnv`; tests set canned answers on it and read what
  the plugin did from its recordings.
* `rhai_plugin(plugin_dir, engine=None, node_env=None, node_params=None)` — loads the Rhai plugin in
  `plugin_dir` (its `main.rhai`) on `engine`, by default on `fake_engine` given `node_env` and
  `node_params`.
* `python_plugin(plugin, engine=None)` — loads a Python protocol plugin (an object, or the name of its
  entry point) on `engine`, by default on `fake_engine`.

`FakeEngine` can also be built directly (`from babel_api.testing import FakeEngine`) with its answers as
keyword arguments. It behaves like the host where a plugin could tell the difference: jobs follow babel's
states, `sanitize_sh_param` applies the real quoting rules, a `download` job needs an archive, schedules
must have 6 or 7 fields, so a mistake that would fail on a node fails in the test.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from babel_api.engine import LOG_LEVELS, LogLevel
from babel_api.models import (
    HttpResponse,
    JobConfig,
    JobInfo,
    JobStatus,
    JrpcRequest,
    NodeEnv,
    RestRequest,
    ShResponse,
    Timestamp,
)
from babel_api.plugin_config import PluginConfig
from babel_api.shell import sanitize_sh_param

MAX_JOBS = 16
"""Babel refuses a 17th job; the fake does too."""

ShAnswer = ShResponse | Callable[[str, float | None], ShResponse]
JrpcAnswer = HttpResponse | Callable[[JrpcRequest, float | None], HttpResponse]
RestAnswer = HttpResponse | Callable[[RestRequest, float | None], HttpResponse]
JobsAnswer = Mapping[str, JobInfo | JobStatus] | Callable[[], Mapping[str, JobInfo | JobStatus]]

_EPOCH = Timestamp(0, 0)


class FakeEngine:
    """An `Engine` that answers from canned values and records, in call order, what the plugin did.

    Canned answers (constructor keywords, also attributes a test may change at any time):

    * `env` (`node_env`), `params` (`node_params`), `stamp` (`protocol_data_stamp`), `has_archive`
      (`has_protocol_archive`), `config` (what `load_config` returns; `save_config` replaces it);
    * `on_run_sh`, `on_run_jrpc`, `on_run_rest` (`run_sh`, `run_jrpc`, `run_rest`): a response, or a
      callable `(body_or_request, timeout) -> response` that may also raise to play a failing call.
      Defaults: exit code 0 with empty output; status 200 with an empty body;
    * `jobs_info`: when set, `get_jobs` and `job_info` answer from it instead of the recorded jobs;
      a mapping or a callable returning one (`iter([first, second]).__next__` gives successive
      answers), whose values are `JobInfo`s or just `JobStatus`es.

    Recordings: `jobs` (name -> JobConfig, latest creation last), `created` (every (name, config)),
    `started`, `stopped`, `cleaned_up` (names), `stop_all_calls` (count), `tasks` (name -> (schedule,
    function, param)), `data`, `secrets` (name -> bytes), `files` (Path -> bytes), `logs` ((level,
    message)), `templates` ((template, destination, params as parsed JSON)), `sh_calls`, `jrpc_calls`,
    `rest_calls` ((body or request, timeout as given)), `saved_configs`.

    Job states follow babel: a created job is stopped; starting an inactive job makes it pending,
    waiting for its `needs` then its `wait_for`, starting an active one does nothing; stopping makes it
    stopped. Nothing ever runs, so nothing becomes running or finished unless `jobs_info` says so.
    Timestamps are the Unix epoch, so answers are the same on every run.
    """

    def __init__(
        self,
        *,
        node_env: NodeEnv | None = None,
        node_params: Mapping[str, str] | None = None,
        run_sh: ShAnswer | None = None,
        run_jrpc: JrpcAnswer | None = None,
        run_rest: RestAnswer | None = None,
        jobs_info: JobsAnswer | None = None,
        protocol_data_stamp: datetime.datetime | None = None,
        has_protocol_archive: bool = False,
        secrets: Mapping[str, bytes] | None = None,
        files: Mapping[str | Path, bytes] | None = None,
        data: str | None = None,
        config: PluginConfig | None = None,
    ) -> None:
        self.env = node_env or NodeEnv()
        self.params = dict(node_params or {})
        self.on_run_sh: ShAnswer = run_sh or ShResponse(0, "", "")
        self.on_run_jrpc: JrpcAnswer = run_jrpc or HttpResponse(200, "")
        self.on_run_rest: RestAnswer = run_rest or HttpResponse(200, "")
        self.jobs_info = jobs_info
        self.stamp = protocol_data_stamp
        self.has_archive = has_protocol_archive
        self.config = config

        self.jobs: dict[str, JobConfig] = {}
        self.created: list[tuple[str, JobConfig]] = []
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.cleaned_up: list[str] = []
        self.stop_all_calls = 0
        self.tasks: dict[str, tuple[str, str, str]] = {}
        self.data = data
        self.secrets = dict(secrets or {})
        self.files = {Path(path): bytes(content) for path, content in (files or {}).items()}
        self.logs: list[tuple[LogLevel, str]] = []
        self.templates: list[tuple[Path, Path, dict[str, Any]]] = []
        self.sh_calls: list[tuple[str, float | None]] = []
        self.jrpc_calls: list[tuple[JrpcRequest, float | None]] = []
        self.rest_calls: list[tuple[RestRequest, float | None]] = []
        self.saved_configs: list[PluginConfig] = []
        self._statuses: dict[str, JobStatus] = {}

    # -- jobs ---------------------------------------------------------------------------------------------

    def create_job(self, name: str, config: JobConfig) -> None:
        name = name.strip()
        if not name:
            raise ValueError("empty job name is not allowed")
        if config.job_type.kind == "download" and not self.has_archive:
            raise RuntimeError(
                "manifest not available for the node's archive (has_protocol_archive is False)"
            )
        if name not in self.jobs and len(self.jobs) >= MAX_JOBS:
            raise RuntimeError(f"Exceeded max number of supported jobs: {MAX_JOBS}")
        self.jobs.pop(name, None)
        self.jobs[name] = config
        self.created.append((name, config))
        self._statuses[name] = JobStatus.stopped()

    def start_job(self, name: str) -> None:
        if name not in self.jobs:
            raise RuntimeError(f"can't start, job '{name}' not found")
        self.started.append(name)
        if self._statuses[name].kind not in ("pending", "running"):
            self._statuses[name] = JobStatus.pending(self.jobs[name].waiting_for())

    def stop_job(self, name: str) -> None:
        self._known(name)
        self.stopped.append(name)
        self._statuses[name] = JobStatus.stopped()

    def stop_all_jobs(self) -> None:
        self.stop_all_calls += 1
        self._statuses = dict.fromkeys(self._statuses, JobStatus.stopped())

    def cleanup_job(self, name: str) -> None:
        self._known(name)
        self.cleaned_up.append(name)

    def job_info(self, name: str) -> JobInfo:
        jobs = self.get_jobs()
        if name not in jobs:
            raise RuntimeError(f"job '{name}' not found")
        return jobs[name]

    def get_jobs(self) -> dict[str, JobInfo]:
        if self.jobs_info is None:
            answer: Mapping[str, JobInfo | JobStatus] = self._statuses
        else:
            answer = self.jobs_info() if callable(self.jobs_info) else self.jobs_info
        return {name: _as_info(info) for name, info in answer.items()}

    # -- commands and calls -------------------------------------------------------------------------------

    def run_jrpc(self, req: JrpcRequest, timeout: float | None = None) -> HttpResponse:
        self.jrpc_calls.append((req, timeout))
        return _answer(self.on_run_jrpc, req, timeout)

    def run_rest(self, req: RestRequest, timeout: float | None = None) -> HttpResponse:
        self.rest_calls.append((req, timeout))
        return _answer(self.on_run_rest, req, timeout)

    def run_sh(self, body: str, timeout: float | None = None) -> ShResponse:
        self.sh_calls.append((body, timeout))
        return _answer(self.on_run_sh, body, timeout)

    def sanitize_sh_param(self, param: str) -> str:
        return sanitize_sh_param(param)

    def render_template(self, template: Path, destination: Path, params_json: str) -> None:
        """Record the call with its params parsed; the disk is not touched. Params that are not a JSON
        object fail as Tera fails on the host."""
        try:
            params = json.loads(params_json)
        except json.JSONDecodeError as error:
            raise ValueError(f"failed to render template file with: {error}") from None
        if not isinstance(params, dict):
            raise ValueError("failed to render template file with: params must be a JSON object")
        self.templates.append((Path(template), Path(destination), params))

    # -- the node -----------------------------------------------------------------------------------------

    def node_params(self) -> dict[str, str]:
        return dict(self.params)

    def node_env(self) -> NodeEnv:
        return self.env

    # -- plugin state -------------------------------------------------------------------------------------

    def save_data(self, value: str) -> None:
        self.data = value

    def load_data(self) -> str:
        if self.data is None:
            raise FileNotFoundError("No such file or directory: plugin.data (save_data was never called)")
        return self.data

    def save_config(self, config: PluginConfig) -> None:
        self.saved_configs.append(config)
        self.config = config

    def load_config(self) -> PluginConfig | None:
        return self.config

    def get_secret(self, name: str) -> bytes | None:
        return self.secrets.get(name)

    def put_secret(self, name: str, value: bytes) -> None:
        self.secrets[name] = bytes(value)

    def file_read(self, path: Path) -> bytes:
        try:
            return self.files[Path(path)]
        except KeyError:
            raise FileNotFoundError(f"No such file in the node: {path}") from None

    def file_write(self, path: Path, content: bytes) -> None:
        self.files[Path(path)] = bytes(content)

    # -- protocol data ------------------------------------------------------------------------------------

    def protocol_data_stamp(self) -> datetime.datetime | None:
        return self.stamp

    def has_protocol_archive(self) -> bool:
        return self.has_archive

    # -- housekeeping -------------------------------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}, expected one of {', '.join(LOG_LEVELS)}")
        self.logs.append((level, message))

    def add_task(self, name: str, schedule: str, function: str, param: str) -> None:
        """Record the task; a schedule without the 6 or 7 fields of the host's cron syntax fails."""
        fields = len(schedule.split())
        if fields not in (6, 7):
            raise ValueError(
                f"invalid cron schedule {schedule!r}: expected 6 or 7 fields (seconds first), got {fields}"
            )
        self.tasks[name] = (schedule, function, param)

    def delete_task(self, name: str) -> None:
        self.tasks.pop(name, None)

    def _known(self, name: str) -> None:
        if name not in self.jobs:
            raise RuntimeError(f"job '{name}' not found")


def _answer(answer: Any, request: Any, timeout: float | None) -> Any:
    return answer(request, timeout) if callable(answer) else answer


def _as_info(info: JobInfo | JobStatus) -> JobInfo:
    return JobInfo(status=info, timestamp=_EPOCH) if isinstance(info, JobStatus) else info


@pytest.fixture
def fake_engine() -> FakeEngine:
    """A fresh `FakeEngine` with a default `NodeEnv`, the engine the plugin fixtures use by default."""
    return FakeEngine()


@pytest.fixture
def rhai_plugin(fake_engine: FakeEngine) -> Callable[..., Any]:
    """A loader of Rhai plugins: `rhai_plugin(plugin_dir, engine=None, node_env=None, node_params=None)`.

    Without `engine` the plugin runs on `fake_engine`, first given `node_env` and `node_params` when
    they are passed; with `engine` those two belong to that engine and may not be passed here.
    """

    def load(
        plugin_dir: str | Path,
        engine: Any = None,
        node_env: NodeEnv | None = None,
        node_params: Mapping[str, str] | None = None,
    ) -> Any:
        from babel_api import load_rhai_plugin

        if engine is None:
            engine = fake_engine
            if node_env is not None:
                fake_engine.env = node_env
            if node_params is not None:
                fake_engine.params = dict(node_params)
        elif node_env is not None or node_params is not None:
            raise TypeError("node_env and node_params configure fake_engine; set them on the engine you pass")
        return load_rhai_plugin(Path(plugin_dir), engine)

    return load


@pytest.fixture
def python_plugin(fake_engine: FakeEngine) -> Callable[..., Any]:
    """A loader of Python protocol plugins: `python_plugin(plugin, engine=None)`, where `plugin` is the
    plugin object or the name of its entry point; the plugin runs on `engine`, by default `fake_engine`."""

    def load(plugin: Any, engine: Any = None) -> Any:
        from babel_api import load_python_plugin

        return load_python_plugin(plugin, fake_engine if engine is None else engine)

    return load
