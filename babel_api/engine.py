"""The engine: everything a protocol plugin may ask of the host, for one node.

A protocol plugin (a Rhai script or a Python package) never touches the node itself. It asks the engine to
create and start jobs, run a shell command or an HTTP call inside the node, render a config file, keep a
bit of data, read a secret. The host implements this protocol once per node (the babel engine of
`blockvisor_core`, which reaches the node through its agent); `babel_api.testing.FakeEngine` implements it
for plugin tests; the Rhai plugin exposes it to scripts under the names of spec §2.2.

This module is the contract (spec §2.1): each method says what the host does and why a plugin needs it.
Calls for one node are strictly sequential, so an implementation need not be thread-safe for one plugin.
A failing call raises an exception whose message says what went wrong; the plugin layer hands that text to
the script as its error (a Rhai `catch (err)` sees the string).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from babel_api.models import (
    HttpResponse,
    JobConfig,
    JobInfo,
    JrpcRequest,
    NodeEnv,
    RestRequest,
    ShResponse,
)
from babel_api.plugin_config import PluginConfig

DEFAULT_TIMEOUT_SECS = 15
"""Deadline of `run_sh`, `run_jrpc` and `run_rest` when the plugin gives none (timeout None)."""

LogLevel = Literal["debug", "info", "warn", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warn", "error")
"""The levels a plugin logs at: Rhai's `debug(x)`, `info(msg)`, `warn(msg)` and `error(msg)`."""


@runtime_checkable
class Engine(Protocol):
    """The host side of the Babel API for one node."""

    # -- jobs: what babel, the agent inside the node, runs and supervises --------------------------------

    def create_job(self, name: str, config: JobConfig) -> None:
        """Create the job `name`, or replace it: a running job of that name is stopped first.

        The new job is `stopped` until `start_job`. The name is trimmed and must not be empty. A `download`
        job is refused ("manifest not available for <archive id>") when `has_protocol_archive()` is false,
        so a plugin learns at once rather than from a failing job. Babel holds at most 16 jobs.
        """
        ...

    def start_job(self, name: str) -> None:
        """Start the job: an inactive job becomes `pending`, waiting for its `needs` then its `wait_for`.

        Starting an active (pending or running) job does nothing, so init may run again safely. An unknown
        job fails with "can't start, job '<name>' not found".
        """
        ...

    def stop_job(self, name: str) -> None:
        """Stop the job if it runs (its shutdown signal, then up to its shutdown timeout); it becomes
        `stopped`. Upload stops the protocol services this way so the data rest while they are copied."""
        ...

    def stop_all_jobs(self) -> None:
        """Stop every job of the node; init starts from here so a re-init never runs two generations."""
        ...

    def cleanup_job(self, name: str) -> None:
        """Remove the job's intermediate files (partial downloads, upload progress) so its next start
        begins from scratch. Host-only: not offered to scripts."""
        ...

    def job_info(self, name: str) -> JobInfo:
        """Status, progress, restart count and recent logs of one job; unknown job → error."""
        ...

    def get_jobs(self) -> dict[str, JobInfo]:
        """Every job of the node by name; `protocol_status` reads it to report downloading, uploading or
        starting before asking the script."""
        ...

    # -- commands and calls made inside the node ---------------------------------------------------------

    def run_jrpc(self, req: JrpcRequest, timeout: float | None = None) -> HttpResponse:
        """POST a JSON-RPC 2.0 call (`{"jsonrpc":"2.0","id":0,"method":...,"params":...}`) to `req.host`
        from inside the node's network. Any HTTP status is a response, not an error; a transport failure
        or the deadline (`timeout` seconds, None: DEFAULT_TIMEOUT_SECS) is an error."""
        ...

    def run_rest(self, req: RestRequest, timeout: float | None = None) -> HttpResponse:
        """GET `req.url` from inside the node's network; statuses and deadline as `run_jrpc`."""
        ...

    def run_sh(self, body: str, timeout: float | None = None) -> ShResponse:
        """Run `body` with `sh -c` inside the node and wait for it (`timeout` seconds, None:
        DEFAULT_TIMEOUT_SECS; the command is killed at the deadline). A non-zero exit is a response,
        not an error; death by a signal is an error. For long work create a job instead."""
        ...

    def sanitize_sh_param(self, param: str) -> str:
        """Quote a value (typically a node property a user typed) as one safe shell word for a `run_sh`
        body, or refuse it: the rules of spec §2.6, implemented by `babel_api.shell.sanitize_sh_param`."""
        ...

    def render_template(self, template: Path, destination: Path, params_json: str) -> None:
        """Render the Tera template file `template` (a path inside the node) with the JSON object
        `params_json` as context and write the result to `destination`, creating its parent folders.
        Failure → "failed to render template file with: <cause>"."""
        ...

    # -- what the node is ---------------------------------------------------------------------------------

    def node_params(self) -> dict[str, str]:
        """The node's properties (name → value) as the user set them, declared in the image's babel.yaml."""
        ...

    def node_env(self) -> NodeEnv:
        """The node's identity and placement: ids, names, protocol and variant, IP and gateway, the host,
        the data mount point, whether the host runs in dev mode."""
        ...

    # -- state a plugin keeps ------------------------------------------------------------------------------

    def save_data(self, value: str) -> None:
        """Keep a string for the plugin across calls and restarts (one value per node, replaced)."""
        ...

    def load_data(self) -> str:
        """The string last given to `save_data`; an error if none was ever saved."""
        ...

    def save_config(self, config: PluginConfig) -> None:
        """Persist the validated plugin config, so after a restart the host knows the node's services
        (and offers `init`/`upload`) before the script runs again."""
        ...

    def load_config(self) -> PluginConfig | None:
        """The config last given to `save_config`, or None if there is none. The plugin reads it when it
        is built; it treats an error here as no config."""
        ...

    def get_secret(self, name: str) -> bytes | None:
        """A secret of the node (keys, tokens) from the host's encrypted store; None when absent.
        Dev mode answers the bytes of "dev-secret"."""
        ...

    def put_secret(self, name: str, value: bytes) -> None:
        """Store a secret the plugin generated (a node key, say) so a re-created node finds it again.
        Dev mode does nothing."""
        ...

    def file_read(self, path: Path) -> bytes:
        """The content of a file inside the node."""
        ...

    def file_write(self, path: Path, content: bytes) -> None:
        """Write a file inside the node, replacing it."""
        ...

    # -- protocol data ------------------------------------------------------------------------------------

    def protocol_data_stamp(self) -> datetime.datetime | None:
        """When protocol data were last initialised (the mtime of `<data_mount_point>/.protocol_data.lock`,
        touched when a job that uses protocol data starts), or None if never. A present stamp makes the
        default init skip download. Dev mode answers the Unix epoch, so no download ever happens there."""
        ...

    def has_protocol_archive(self) -> bool:
        """Whether the API holds an archive of protocol data for this node's image, i.e. whether the
        built-in download job can run. Dev mode answers False."""
        ...

    # -- housekeeping --------------------------------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        """Write `message` to the host log at `level` (one of LOG_LEVELS), tagged with the node id."""
        ...

    def add_task(self, name: str, schedule: str, function: str, param: str) -> None:
        """Register (or replace) the task `name`: while the node runs, call the plugin's `function` with
        `param` on the cron `schedule` (6 or 7 fields, seconds first, optional year; local time).
        An invalid schedule is an error; a failing call is only logged."""
        ...

    def delete_task(self, name: str) -> None:
        """Remove the task `name`, so its function is no longer called."""
        ...
