"""The functions a Rhai plugin calls: the node's engine as a script sees it (spec §2.2).

Parameters are annotated with the Rhai types the original accepts, so a call with a wrong type is
Rhai's own "Function not found: start_job (i64)", and overloads are told apart by type
(`expect(200)` and `expect(|code| code < 300)`). A host error raised here is a runtime error in the
script whose value is the error's message; `catch (err)` sees that string (`"not_found"` for a
missing secret).

HTTP and shell responses reach scripts as maps (`#{status_code, body}`, `#{exit_code, stdout,
stderr}`) with the methods `expect` and `unwrap`.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import rhai

from babel_api import parsing
from babel_api.defaults import default_init, default_upload
from babel_api.engine import Engine
from babel_api.models import JobConfig, JrpcRequest, RestRequest
from babel_api.plugin_config import PluginConfig
from babel_api.shapes import ShapeError


class SecretNotFound(LookupError):
    """A secret that was never stored; scripts catch it as the string `"not_found"`."""

    def __str__(self) -> str:
        return "not_found"


class HostFunctions:
    """The functions of one node's engine, registered into that node's Rhai engine."""

    def __init__(self, engine: Engine, current_config: Callable[[], PluginConfig | None]) -> None:
        self.engine = engine
        self.current_config = current_config

    def register(self, script_engine: rhai.Engine) -> None:
        """Register every function, and send the scripts' `debug` output to the node's log."""
        for name, function in self.table():
            script_engine.register_fn(name, function)
        script_engine.on_debug(lambda text, source, line, position: self.engine.log("debug", text))

    def table(self) -> list[tuple[str, Callable[..., Any]]]:
        """Name and implementation of each function; a name listed twice is an overload."""
        return [
            ("create_job", self.create_job),
            ("start_job", self.start_job),
            ("start_job", self.create_and_start_job),
            ("stop_job", self.stop_job),
            ("job_info", self.job_info),
            ("get_jobs", self.get_jobs),
            ("run_jrpc", self.run_jrpc),
            ("run_jrpc", self.run_jrpc_within),
            ("run_rest", self.run_rest),
            ("run_rest", self.run_rest_within),
            ("run_sh", self.run_sh),
            ("run_sh", self.run_sh_within),
            ("expect", expect_status),
            ("expect", expect_check),
            ("unwrap", unwrap),
            ("sanitize_sh_param", self.sanitize_sh_param),
            ("render_template", self.render_template),
            ("node_params", self.node_params),
            ("node_env", self.node_env),
            ("save_data", self.save_data),
            ("load_data", self.load_data),
            ("put_secret", self.put_secret),
            ("get_secret", self.get_secret),
            ("file_write", self.file_write),
            ("file_read", self.file_read),
            ("add_task", self.add_task),
            ("delete_task", self.delete_task),
            ("info", self.info),
            ("warn", self.warn),
            ("error", self.error),
            ("parse_json", parsing.parse_json),
            ("to_json", parsing.to_json),
            ("parse_hex", parsing.parse_hex),
            ("system_time", parsing.system_time),
            ("parse_rfc3339", parsing.parse_rfc3339),
            ("parse_rfc2822", parsing.parse_rfc2822),
            ("parse_time", parsing.parse_time),
            ("default_init", self.default_init),
            ("default_upload", self.default_upload),
        ]

    def create_job(self, name: str, config: Any) -> None:
        """Create (or replace) the job `name` from a JobConfig map."""
        self.engine.create_job(name, job_config(name, config))

    def start_job(self, name: str) -> None:
        self.engine.start_job(name)

    def create_and_start_job(self, name: str, config: dict) -> None:
        """`start_job(name, config)`: create the job, and start it only if that worked."""
        self.create_job(name, config)
        self.engine.start_job(name)

    def stop_job(self, name: str) -> None:
        self.engine.stop_job(name)

    def job_info(self, name: str) -> dict:
        return self.engine.job_info(name).to_json()

    def get_jobs(self) -> dict:
        return {name: info.to_json() for name, info in self.engine.get_jobs().items()}

    def run_jrpc(self, request: dict) -> dict:
        """POST a JSON-RPC call from inside the node: `#{host, method, params?, headers?}`."""
        return self.engine.run_jrpc(jrpc_request(request), None).to_json()

    def run_jrpc_within(self, request: dict, timeout: int) -> dict:
        """`run_jrpc(request, timeout)`: the same, with a timeout in seconds."""
        return self.engine.run_jrpc(jrpc_request(request), seconds("run_jrpc", timeout)).to_json()

    def run_rest(self, request: dict) -> dict:
        """GET `url` from inside the node: `#{url, headers?}`."""
        return self.engine.run_rest(rest_request(request), None).to_json()

    def run_rest_within(self, request: dict, timeout: int) -> dict:
        return self.engine.run_rest(rest_request(request), seconds("run_rest", timeout)).to_json()

    def run_sh(self, body: str) -> dict:
        """Run a shell script inside the node."""
        return self.engine.run_sh(body, None).to_json()

    def run_sh_within(self, body: str, timeout: int) -> dict:
        return self.engine.run_sh(body, seconds("run_sh", timeout)).to_json()

    def sanitize_sh_param(self, param: str) -> str:
        return self.engine.sanitize_sh_param(param)

    def render_template(self, template: str, destination: str, params: dict) -> None:
        """Render a Tera template file of the node into `destination` with `params` as its context."""
        self.engine.render_template(Path(template), Path(destination), parsing.to_json(params))

    def node_params(self) -> dict:
        return dict(self.engine.node_params())

    def node_env(self) -> dict:
        return self.engine.node_env().to_json()

    def save_data(self, value: str) -> None:
        self.engine.save_data(value)

    def load_data(self) -> str:
        return self.engine.load_data()

    def put_secret(self, name: str, value: bytes) -> None:
        self.engine.put_secret(name, value)

    def get_secret(self, name: str) -> bytes:
        secret = self.engine.get_secret(name)
        if secret is None:
            raise SecretNotFound(name)
        return secret

    def file_write(self, path: str, content: bytes) -> None:
        self.engine.file_write(Path(path), content)

    def file_read(self, path: str) -> bytes:
        return self.engine.file_read(Path(path))

    def add_task(self, name: str, schedule: str, function: str, param: str = "") -> None:
        """Call `function(param)` on the cron `schedule` (seconds first) while the node runs."""
        self.engine.add_task(name, schedule, function, param)

    def delete_task(self, name: str) -> None:
        self.engine.delete_task(name)

    def info(self, message: str) -> None:
        self.engine.log("info", message)

    def warn(self, message: str) -> None:
        self.engine.log("warn", message)

    def error(self, message: str) -> None:
        self.engine.log("error", message)

    def default_init(self) -> None:
        """The default init, with the configuration the plugin has now (its `init()` reloaded it)."""
        default_init(self.engine, self.current_config())

    def default_upload(self) -> None:
        default_upload(self.engine, self.current_config())


def job_config(name: str, config: Any) -> JobConfig:
    try:
        return JobConfig.from_json(config)
    except ShapeError as error:
        raise ValueError(f"job '{name}': invalid config: {error}") from None


def expect_status(response: dict, code: int) -> Any:
    """`response.expect(200)`: the parsed JSON body if the status is `code`, else an error."""
    status, body = http_response(response)
    if status != code:
        raise ValueError(f"unexpected status_code: {status}")
    return parsing.parse_json(body)


def expect_check(response: dict, check: rhai.FnPtr) -> Any:
    """`response.expect(|code| code < 300)`: the parsed JSON body if `check(status)` is true."""
    status, body = http_response(response)
    accepted = check(status)
    if type(accepted) is not bool:
        raise ValueError(f"expect: the check must return a bool, returned {accepted!r}")
    if not accepted:
        raise ValueError(f"unexpected status_code: {status}")
    return parsing.parse_json(body)


def unwrap(response: dict) -> str:
    """`run_sh(...).unwrap()`: stdout if the exit code is 0, else an error."""
    if type(response.get("exit_code")) is not int or not isinstance(response.get("stdout"), str):
        raise ValueError("unwrap() is a method of what run_sh returns")
    if response["exit_code"] != 0:
        raise ValueError(f"unexpected exit_code: {response['exit_code']}")
    return response["stdout"]


def http_response(response: dict) -> tuple[int, str]:
    if type(response.get("status_code")) is not int or not isinstance(response.get("body"), str):
        raise ValueError("expect() is a method of what run_jrpc and run_rest return")
    return response["status_code"], response["body"]


def jrpc_request(request: dict) -> JrpcRequest:
    return JrpcRequest(
        host=required_str("run_jrpc", request, "host"),
        method=required_str("run_jrpc", request, "method"),
        params=jrpc_params(request.get("params")),
        headers=headers("run_jrpc", request.get("headers")),
    )


def rest_request(request: dict) -> RestRequest:
    return RestRequest(
        url=required_str("run_rest", request, "url"), headers=headers("run_rest", request.get("headers"))
    )


def required_str(function: str, request: dict, key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str):
        got = "nothing" if value is None else type(value).__name__
        raise ValueError(f"{function}: request.{key}: expected a string, got {got}")
    return value


def jrpc_params(params: Any) -> str | None:
    """JSON-RPC params: a map or an array, sent as compact JSON with sorted keys."""
    if params is None:
        return None
    if not isinstance(params, dict | list):
        raise ValueError(f"run_jrpc: unsupported jrpc params type: {type(params).__name__}")
    return parsing.to_json(params)


def headers(function: str, value: Any) -> list[tuple[str, str]] | None:
    """Headers as `[["name", "value"], ...]` (kept in order) or `#{name: "value"}`."""
    if value is None:
        return None
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    if isinstance(pairs, list) and all(_is_pair(pair) for pair in pairs):
        return [(name, text) for name, text in pairs]
    raise ValueError(
        f"{function}: unsupported jrpc headers type: expected [[name, value], ...] or a map of strings"
    )


def _is_pair(pair: Any) -> bool:
    return isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(part, str) for part in pair)


def seconds(function: str, timeout: int) -> float:
    if timeout < 0:
        raise ValueError(f"{function}: the timeout must not be negative, got {timeout}")
    return float(timeout)
