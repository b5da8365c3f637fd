"""The plugin linter: what is wrong with a Rhai plugin folder, found before a node ever runs it.

`nib image check` runs `check` on a node image's plugin folder (spec §6). The plugin is built and its
`init` run on `LintEngine`, an engine on which every host call succeeds with a neutral answer, so only the
plugin's own mistakes fail: syntax errors, script errors, a `plugin_config` that does not validate, and an
HTTP call whose answer init relies on (`.expect(200)`: the node's services are not up while it initialises,
so the lint engine answers status 0). Then every `*.rhai` file of the folder is compiled and scanned for
`node_params()` keys that the image's babel.yaml does not declare, which on a node are `()` and fail late.

Unlike the original, which stops at the first failure, the linter reports every problem it finds, each
with its place: a syntax error in one file does not hide the undefined keys of the others.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import attrs
import rhai

from babel_api.engine import LogLevel
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
from babel_api.rhai_plugin import MAIN_SCRIPT, load_rhai_plugin
from babel_api.shell import sanitize_sh_param

DEFAULT_NODE_ENV = NodeEnv(
    node_id="node-id",
    node_name="node_name",
    node_ip="1.2.3.4",
    node_gateway="4.3.2.1",
    dev_mode=True,
    bv_host_id="host-id",
    data_mount_point="/blockjoy",
    protocol_data_path="/blockjoy/protocol_data",
)
"""The synthetic node a plugin is checked on when no NodeEnv is given (spec §6)."""

MISSING_PLUGIN_CONFIG = "Deprecated API used: missing plugin_config function"


@attrs.frozen
class Problem:
    """One thing wrong with a plugin: where (the file, and line and column when known) and what."""

    file: Path
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        return f"{_place(self.file, self.line, self.column)}: {self.message}"


def _place(*parts: object) -> str:
    """`file:line:column`, leaving out the parts that are not known (None)."""
    return ":".join(str(part) for part in parts if part is not None)


def check(
    plugin_dir: Path, node_env: NodeEnv | None = None, node_properties: Mapping[str, str] | None = None
) -> list[Problem]:
    """Every problem of the Rhai plugin in `plugin_dir`, checked on a node with `node_env` (by default
    DEFAULT_NODE_ENV) whose properties are `node_properties` (the keys babel.yaml declares).

    Problems come in this order, each reported once: building the plugin or running its init, a missing
    `plugin_config`, then file by file (sorted by path) a syntax error and the undefined properties.
    """
    properties = dict(node_properties or {})
    engine = LintEngine(node_env or DEFAULT_NODE_ENV, properties)
    problems = _run_init(plugin_dir, engine)
    for path in sorted(plugin_dir.rglob("*.rhai")):
        if path.is_file():
            problems += _check_file(path, plugin_dir, properties)
    return list(dict.fromkeys(problems))


def _run_init(plugin_dir: Path, engine: LintEngine) -> list[Problem]:
    """Build the plugin and run its init, as a node start does."""
    problems = []
    try:
        plugin = load_rhai_plugin(plugin_dir, engine)
        # Reload on its own first, so a missing plugin_config is known even when init then fails.
        plugin.reload_plugin_config()
        if plugin.config is None:
            problems.append(Problem(plugin_dir / MAIN_SCRIPT, None, None, MISSING_PLUGIN_CONFIG))
        plugin.init()
    except Exception as error:
        problems.append(_error_problem(error, plugin_dir))
    return problems


def _check_file(path: Path, plugin_dir: Path, properties: Mapping[str, str]) -> list[Problem]:
    """The syntax error of one script file, if any, and each `node_params()` key it reads that is not
    one of `properties`."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Problem(path, None, None, f"cannot read the script: {error}")]
    problems = []
    try:
        rhai.Engine().compile(source, name=str(path))
    except rhai.ParseError as error:
        problems.append(_error_problem(error, plugin_dir))
    for key, offset in _node_params_keys(source):
        if key not in properties:
            line = source.count("\n", 0, offset) + 1
            column = offset - source.rfind("\n", 0, offset)
            problems.append(Problem(path, line, column, f"'{key}' not defined in babel.yaml"))
    return problems


def _error_problem(error: BaseException, plugin_dir: Path) -> Problem:
    """The problem an error reports, placed where its innermost script error happened, if one did.

    A syntax error reads the same however it was found (building the plugin, importing a module during
    init, compiling a file for the scan), so that it is reported once. An error without a place in a
    script (a plugin_config that does not validate, a failed init command) belongs to the main script.
    """
    main = plugin_dir / MAIN_SCRIPT
    placed = [
        cause for cause in _causes(error) if isinstance(cause, rhai.RhaiError) and cause.source is not None
    ]
    if not placed:
        return Problem(main, None, None, str(error).removeprefix(f"{main}: "))
    innermost = placed[-1]
    if isinstance(innermost, rhai.ParseError):
        message = f"Rhai syntax error: {innermost.message}"
    else:
        # The place goes in front of the problem; each Rhai error of the chain repeats its own in the text.
        message = str(error)
        for cause in placed:
            message = message.replace(f"{_place(cause.source, cause.line, cause.position)}: ", "")
    return Problem(_script_path(innermost.source, plugin_dir), innermost.line, innermost.position, message)


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and the errors it was raised from, outermost first."""
    chain = []
    cause: BaseException | None = error
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    return chain


def _script_path(source: str, plugin_dir: Path) -> Path:
    """The Rhai source name `source` as a path under `plugin_dir`, as the scan names it, so that one
    file has one name (Rhai names imported modules by their absolute path)."""
    path = Path(source)
    try:
        return plugin_dir / path.resolve().relative_to(plugin_dir.resolve())
    except ValueError:
        return path


# -- the undefined-property scan ---------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "word", "string" or "punct"; "end" past the last token
    text: str
    offset: int


# One token of Rhai code. Char literals, line comments and white space are skipped; "..." (where `\`
# escapes any character and a doubled quote is a quote) and raw #"..."# strings are string tokens. A block
# comment and a back-tick string start a nesting that `_tokens` follows itself.
_CODE_TOKEN = re.compile(
    r"""
      (?P<skip> \s+ | //[^\n]* | '(?: [^'\\] | \\. )* '? )
    | (?P<string> "(?: [^"\\] | \\. | "" )* "? | (?P<hashes> \#+ ) " .*? (?: "(?P=hashes) | \Z ) )
    | (?P<word> \w+ )
    | (?P<nesting> /\* | ` )
    | (?P<punct> . )
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT_MARK = re.compile(r"/\*|\*/")


def _tokens(source: str) -> list[_Token]:
    """The words, strings and punctuation of Rhai code, with their offsets in `source`.

    What Rhai does not run is left out: comments (block comments nest), and the text of strings and
    char literals. Back-tick strings are text too, but the code of their `${...}` interpolations
    (where `node_params()` is mostly used) is tokenized like any other code, nested back-tick strings
    included; `\\${` is literal text, and a back-tick string without interpolation is a string token.
    This is enough to find `node_params()` accesses: anything else (numbers, operators) only has to be
    kept apart from them, and a malformed script gets a syntax error from Rhai anyway.
    """
    tokens: list[_Token] = []

    def code(start: int, in_interpolation: bool) -> int:
        """Tokenize code from `start` up to the `}` closing the interpolation; return where it ends."""
        depth = 0
        position = start
        while match := _CODE_TOKEN.match(source, position):
            kind, text, position = match.lastgroup, match.group(), match.end()
            if text == "/*":
                position = _comment_end(source, position)
            elif text == "`":
                position = back_tick_string(match.start())
            elif text == "}" and in_interpolation and depth == 0:
                return position
            elif kind != "skip":
                if text == "{":
                    depth += 1
                elif text == "}":
                    depth -= 1
                tokens.append(_Token(kind, text, match.start()))
        return position

    def back_tick_string(start: int) -> int:
        """Skip the text of the back-tick string at `start`, tokenizing its interpolations."""
        position = start + 1
        interpolated = False
        while position < len(source):
            if source.startswith("``", position):  # a doubled back-tick is one in the text
                position += 2
            elif source[position] == "`":
                position += 1
                break
            elif source.startswith("\\${", position):
                position += 3
            elif source.startswith("${", position):
                interpolated = True
                position = code(position + 2, in_interpolation=True)
            else:
                position += 1
        if not interpolated:
            tokens.append(_Token("string", source[start:position], start))
        return position

    code(0, in_interpolation=False)
    return tokens


def _comment_end(source: str, start: int) -> int:
    """Where the block comment whose `/*` ends at `start` ends; Rhai block comments nest."""
    depth = 1
    for mark in _COMMENT_MARK.finditer(source, start):
        depth += 1 if mark.group() == "/*" else -1
        if depth == 0:
            return mark.end()
    return len(source)


def _node_params_keys(source: str) -> Iterator[tuple[str, int]]:
    """Each key that the Rhai code `source` reads from `node_params()` by name, with its offset.

    A key is a string literal in `node_params()["key"]` or a name in `node_params().key` (`?[` and
    `?.` too; `node_params().keys()` is a method call, not a key). Keys computed at run time, or read
    through a variable holding the map, cannot be known here and are not reported.
    """
    end = _Token("end", "", len(source))
    tokens = [*_tokens(source), end, end, end, end, end]
    for index, token in enumerate(tokens):
        if token.text != "node_params" or [t.text for t in tokens[index + 1 : index + 3]] != ["(", ")"]:
            continue
        access = index + 3 + (tokens[index + 3].text == "?")
        operator, key, after = tokens[access : access + 3]
        if operator.text == "[" and key.kind == "string" and after.text == "]":
            value = _string_value(key.text)
            if value is not None:
                yield value, key.offset
        elif operator.text == "." and key.kind == "word" and after.text != "(":
            yield key.text, key.offset


def _string_value(literal: str) -> str | None:
    """The value of a Rhai string literal as Rhai reads it (escapes, raw strings); None if malformed."""
    try:
        value = rhai.Engine().eval(literal)
    except rhai.RhaiError:
        return None
    return value if isinstance(value, str) else None


# -- the engine ---------------------------------------------------------------------------------------------

_PENDING = JobInfo(status=JobStatus.pending([]), timestamp=Timestamp(0, 0))


class LintEngine:
    """An `Engine` on which every call succeeds with a neutral answer (spec §6), so that init fails
    only by the plugin's own doing.

    Jobs, templates, data, secrets, files and tasks are accepted and forgotten; every job is pending;
    commands exit 0 with no output; HTTP calls answer status 0 with an empty body, so a plugin that
    needs a live node during init (`.expect(200)`) is reported. Unlike `babel_api.testing.FakeEngine`,
    which plays a host for tests and refuses what a host refuses, it knows every secret, file and job.
    `sanitize_sh_param` is the real one: a value the host would refuse is a problem here too.
    """

    def __init__(self, node_env: NodeEnv, node_params: Mapping[str, str]) -> None:
        self.env = node_env
        self.params = dict(node_params)

    def create_job(self, name: str, config: JobConfig) -> None:
        pass

    def start_job(self, name: str) -> None:
        pass

    def stop_job(self, name: str) -> None:
        pass

    def stop_all_jobs(self) -> None:
        pass

    def cleanup_job(self, name: str) -> None:
        pass

    def job_info(self, name: str) -> JobInfo:
        return _PENDING

    def get_jobs(self) -> dict[str, JobInfo]:
        return {"dummy_job": _PENDING}

    def run_jrpc(self, req: JrpcRequest, timeout: float | None = None) -> HttpResponse:
        return HttpResponse(0, "")

    def run_rest(self, req: RestRequest, timeout: float | None = None) -> HttpResponse:
        return HttpResponse(0, "")

    def run_sh(self, body: str, timeout: float | None = None) -> ShResponse:
        return ShResponse(0, "", "")

    def sanitize_sh_param(self, param: str) -> str:
        return sanitize_sh_param(param)

    def render_template(self, template: Path, destination: Path, params_json: str) -> None:
        pass

    def node_params(self) -> dict[str, str]:
        return dict(self.params)

    def node_env(self) -> NodeEnv:
        return self.env

    def save_data(self, value: str) -> None:
        pass

    def load_data(self) -> str:
        return ""

    def save_config(self, config: PluginConfig) -> None:
        pass

    def load_config(self) -> PluginConfig | None:
        return None

    def get_secret(self, name: str) -> bytes | None:
        return b"secret value"

    def put_secret(self, name: str, value: bytes) -> None:
        pass

    def file_read(self, path: Path) -> bytes:
        return b""

    def file_write(self, path: Path, content: bytes) -> None:
        pass

    def protocol_data_stamp(self) -> datetime.datetime | None:
        return None

    def has_protocol_archive(self) -> bool:
        return True

    def log(self, level: LogLevel, message: str) -> None:
        pass

    def add_task(self, name: str, schedule: str, function: str, param: str) -> None:
        pass

    def delete_task(self, name: str) -> None:
        pass
