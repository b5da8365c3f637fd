"""What the agent does inside a node on the host's behalf: shell commands, HTTP calls and files.

Everything goes through the node's `NodeAccess`: commands run with its exec prefix, environment and
working folder; HTTP calls leave from its network namespace, so `localhost` is the node; every path a
plugin names is mapped with `host_path`, which refuses paths that leave the node (`OutsideNodeError`,
a `PermissionError`). Failures are `AgentError`s, or `TimeoutError` when a deadline passes, so the
service can map each to its gRPC status.
"""

import contextlib
import ctypes
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

import httpx

from babel_api.models import HttpResponse, JrpcRequest, RestRequest, ShResponse
from babel_api.templates import TemplateError, render_template_text
from blockvisor_core.agent.errors import AgentError, InvalidArgument, NotFound
from blockvisor_core.agent.shell import shell_body
from blockvisor_core.files import write_atomic
from blockvisor_core.node_access import NodeAccess

#: Bytes of stdout, and again of stderr, that `run_sh` keeps; the rest is counted and dropped, so a
#: chatty command can neither exhaust the agent's memory nor overflow a gRPC message.
OUTPUT_LIMIT = 16 * 2**20

#: Mode of files written by `file_write`, as the original agent wrote them.
FILE_MODE = 0o770

_READ_SIZE = 2**16
_CLONE_NEWNET = 0x40000000

T = TypeVar("T")


# -- shell ------------------------------------------------------------------------------------------------


def run_sh(access: NodeAccess, body: str, timeout: float, output_limit: int = OUTPUT_LIMIT) -> ShResponse:
    """Run `body` inside the node and wait for it, at most `timeout` seconds.

    The shell runs as `sh -c` with the node's environment, in its working folder, as its user (only the
    uid changes, as for jobs; the original's `su -` would also move to the user's home). The shell
    leads its own process group, and at the deadline the whole group is killed (background
    children and nested shells too) and `TimeoutError` raised. Output is read as it comes, so the
    command never blocks on a full pipe; each stream keeps its first `output_limit` bytes, followed by
    a marker saying how many more were dropped. Output is decoded as UTF-8, invalid bytes replaced.
    A non-zero exit is a response; death by a signal is an `AgentError`.
    """
    deadline = time.monotonic() + timeout
    cwd = access.host_path(access.cwd)
    try:
        process = subprocess.Popen(
            access.command(["sh", "-c", shell_body(body)]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=access.env,
            cwd=cwd,
            user=access.user,
            start_new_session=True,
        )
    except KeyError:
        raise AgentError(f"run_sh: the node's user {access.user!r} does not exist") from None
    except OSError as error:
        raise AgentError(f"run_sh: cannot start the shell: {error}") from None
    with process:
        try:
            outputs = _read_until_exit(process, deadline, output_limit)
        finally:
            if process.returncode is None:
                _kill_group(process)
    if outputs is None:
        raise TimeoutError(
            f"run_sh: timed out after {timeout:g} s; the command and its children were killed: "
            f"{_excerpt(body)}"
        )
    if process.returncode < 0:
        raise AgentError(f"run_sh: command killed by {_signal_name(-process.returncode)}: {_excerpt(body)}")
    stdout, stderr = outputs
    return ShResponse(process.returncode, stdout.text(), stderr.text())


def _excerpt(body: str) -> str:
    return repr(body if len(body) <= 100 else body[:100] + "...")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _BoundedOutput:
    """The first `limit` bytes of a stream, and a count of the bytes dropped after them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.limit - len(self.kept)
        self.kept += data[:room]
        self.dropped += max(0, len(data) - room)

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        return f"{text}\n[output cut: {self.dropped} more bytes]" if self.dropped else text


def _read_until_exit(
    process: subprocess.Popen, deadline: float, limit: int
) -> tuple[_BoundedOutput, _BoundedOutput] | None:
    """Collect stdout and stderr until the shell exits and its pipes are drained; None at the deadline.

    Once the shell has exited, only what is already in the pipes is read: a background child that
    inherited them must not hold the call open until the deadline.
    """
    # Raw reads on the descriptors: a buffered reader could keep bytes that select no longer reports.
    outputs = {process.stdout.fileno(): _BoundedOutput(limit), process.stderr.fileno(): _BoundedOutput(limit)}
    with selectors.DefaultSelector() as selector:
        for fd in outputs:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        while True:
            exited = process.poll() is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if not exited:
                    return None
                break
            # While the shell runs, wake up now and then to notice its exit even if a child keeps
            # the pipes open.
            ready = selector.select(0 if exited else min(remaining, 0.05))
            for key, _ in ready:
                try:
                    data = os.read(key.fd, _READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    outputs[key.fd].add(data)
                else:
                    selector.unregister(key.fd)
            if not selector.get_map() or (exited and not ready):
                break
    try:
        # The shell may have closed its pipes and still be running.
        process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return None
    return outputs[process.stdout.fileno()], outputs[process.stderr.fileno()]


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the shell's process group (the shell is its leader) and reap the shell."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# -- HTTP -------------------------------------------------------------------------------------------------


def run_jrpc(access: NodeAccess, request: JrpcRequest, timeout: float) -> HttpResponse:
    """POST a JSON-RPC 2.0 call to `request.host` from inside the node's network.

    The body is `{"jsonrpc":"2.0","id":0,"method":...}` plus `"params"` (the request's JSON text, parsed)
    when given. Any HTTP status is returned; a transport failure is an `AgentError` and the deadline a
    `TimeoutError`, both naming the URL.
    """
    payload: dict = {"jsonrpc": "2.0", "id": 0, "method": request.method}
    if request.params is not None:
        try:
            payload["params"] = json.loads(request.params)
        except json.JSONDecodeError as error:
            raise InvalidArgument(f"run_jrpc: params are not JSON: {error}") from None
    headers = _headers([("Content-Type", "application/json"), *(request.headers or [])])
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _http(access, "POST", request.host, headers, body, timeout)


def run_rest(access: NodeAccess, request: RestRequest, timeout: float) -> HttpResponse:
    """GET `request.url` from inside the node's network; statuses and errors as `run_jrpc`."""
    return _http(access, "GET", request.url, _headers(request.headers or []), None, timeout)


def _headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Headers from (name, value) pairs; a repeated name (in any case) keeps its last value."""
    latest = {name.lower(): (name, value) for name, value in pairs}
    return dict(latest.values())


def _http(
    access: NodeAccess, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> HttpResponse:
    def call() -> HttpResponse:
        # Proxy variables of the agent's environment must not redirect calls meant for the node.
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.request(method, url, headers=headers, content=body)
            return HttpResponse(response.status_code, response.text)

    try:
        return in_network(access.netns, call)
    except httpx.TimeoutException:
        raise TimeoutError(f"{method} {url}: no response within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise AgentError(f"{method} {url}: {error}") from None


def in_network(netns: Path | None, action: Callable[[], T]) -> T:
    """Run `action` with its sockets in the network namespace `netns` (None: the host's network).

    `setns` moves only the calling thread, so the action runs on a short-lived thread that enters the
    namespace first and ends with the action; the agent's own threads never change namespace.
    """
    if netns is None:
        return action()
    outcome: list = []

    def enter_and_run() -> None:
        try:
            _enter_network(netns)
            outcome.append((True, action()))
        except BaseException as error:
            outcome.append((False, error))

    thread = threading.Thread(target=enter_and_run, name=f"netns {netns.name}")
    thread.start()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _enter_network(netns: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise AgentError(f"cannot enter the node's network namespace {netns}: {os.strerror(errno)}")
    finally:
        os.close(fd)


# -- files ------------------------------------------------------------------------------------------------


def render_template(access: NodeAccess, template: str, destination: str, params_json: str) -> None:
    """Render the Tera template file `template` with the JSON object `params_json` and write the result to
    `destination` (both node paths), creating its parent folders and replacing it atomically.

    A missing template is `NotFound`; a template that does not render (bad syntax, an undefined variable,
    params that are not a JSON object) is `InvalidArgument` with Tera's cause.
    """
    source = access.host_path(template)
    target = access.host_path(destination)
    try:
        text = source.read_text()
    except FileNotFoundError:
        raise NotFound(f"failed to render template file with: template {template} not found") from None
    except OSError as error:
        raise AgentError(f"failed to render template file with: cannot read {template}: {error}") from None
    try:
        rendered = render_template_text(text, params_json, PurePosixPath(destination).name or "template")
    except TemplateError as error:
        raise InvalidArgument(str(error)) from None
    write_atomic(target, rendered)


def file_read(access: NodeAccess, path: str) -> bytes:
    """The content of the node file `path`; a missing file is `NotFound`."""
    try:
        return access.host_path(path).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"file_read: {path}: no such file") from None
    except IsADirectoryError:
        raise InvalidArgument(f"file_read: {path}: is a folder") from None


def file_write(access: NodeAccess, path: str, data: bytes) -> None:
    """Replace the node file `path` with `data` atomically (mode 0o770), creating its parent folders."""
    target = access.host_path(path)
    if target.is_dir():
        raise InvalidArgument(f"file_write: {path}: is a folder")
    write_atomic(target, data, mode=FILE_MODE)
