"""What every `bv` command shares: the host's paths, the daemon connection, the `--format` option and the
node argument (with shell completion of node names)."""

from typing import Annotated, Any, Literal

from cyclopts import Parameter

from blockvisor_core.cli import render
from blockvisor_core.cli.client import DaemonClient
from blockvisor_core.cli.errors import CliError
from blockvisor_core.paths import Paths


def paths() -> Paths:
    return Paths.from_env()


def daemon() -> DaemonClient:
    """A connection to the daemon of this `BV_ROOT`."""
    return DaemonClient(paths().socket)


def complete_nodes(_context: object) -> list[tuple[str, str]]:
    """Node names for shell completion, each described by its id; none when the daemon does not answer."""
    try:
        with daemon() as client:
            return [(node.name, node.id) for node in client.get_nodes()]
    except CliError:
        return []


Format = Literal["text", "json"]

#: `--format`: what a command that shows data prints.
OutputFormat = Annotated[
    Format, Parameter(name="--format", help="`text` to read, `json` for scripts (stable keys).")
]

#: A node, named by its id or its name.
NodeArg = Annotated[str, Parameter(help="A node id or name.", completer=complete_nodes)]


def emit(output: Format, text: str, data: Any) -> None:
    """Print a command's answer: `text`, or `data` as JSON."""
    if output == "json":
        print(render.dumps(data))
    elif text:
        print(text)
