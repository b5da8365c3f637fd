"""`bv`, the operator's command line (spec §1.1): the daemon, the nodes and their jobs, the host.

`BV_ROOT` selects the host root, hence the daemon `bv` talks to. Every error ends the command with one
line on standard error, `Error: <message>`, and exit code 1, or 2 when the command line itself is wrong;
never with a traceback.
"""

import signal
import sys
from collections.abc import Sequence
from typing import Literal

import cyclopts

from blockvisor_core.cli import render, service
from blockvisor_core.cli.config_commands import config_app
from blockvisor_core.cli.errors import APP_SETTINGS, CliError, error_line
from blockvisor_core.cli.host import host_info, host_info_text
from blockvisor_core.cli.node_commands import node_app
from blockvisor_core.cli.session import OutputFormat, daemon, emit, paths


def _version() -> str:
    # Imported when asked: importlib.metadata alone would add a fifth to the start-up of every command.
    import importlib.metadata

    return importlib.metadata.version("blockvisor")


app = cyclopts.App(
    name="bv",
    help="Manage the blockchain nodes of this host through the BlockVisor daemon (blockvisord).",
    version=_version,
    result_action="return_value",
    **APP_SETTINGS,
)
app.command(node_app)
app.command(config_app)

host_app = cyclopts.App(name="host", alias="h", help="This host: what it is, how loaded it is.")
app.command(host_app)


@app.command
def start(*, output: OutputFormat = "text") -> None:
    """Start the daemon of this BV_ROOT in the background, unless it runs already."""
    found = service.running_info(paths()) or service.start_daemon(paths())
    emit(
        output, f"blockvisor service started successfully: {render.info_text(found)}", render.info_json(found)
    )


@app.command
def stop() -> None:
    """Stop the daemon of this BV_ROOT (its nodes keep running)."""
    if service.stop_daemon(paths()):
        print("blockvisor service stopped successfully")
    else:
        print("blockvisor service is not running")


@app.command
def status(*, output: OutputFormat = "text") -> None:
    """Tell whether the daemon of this BV_ROOT runs."""
    found = service.running_info(paths())
    text = f"Service running: {render.info_text(found)}" if found else "Service stopped"
    emit(output, text, {"running": found is not None, "info": render.info_json(found) if found else None})


@host_app.command(alias="i")
def info(*, output: OutputFormat = "text") -> None:
    """Show the host: hostname, OS, CPUs, memory and disk (read locally, no daemon needed)."""
    found = host_info(paths())
    emit(output, host_info_text(found), found)


@host_app.command(alias="m")
def metrics(*, output: OutputFormat = "text") -> None:
    """Show the host's load as the daemon measures it: CPU, memory, disk, IPs, network, uptime."""
    with daemon() as client:
        found = client.get_host_metrics()
    emit(output, render.host_metrics_text(found), render.host_metrics_json(found))


@app.command
def completion(shell: Literal["bash", "zsh", "fish"]) -> None:
    """Print the shell completion script of `bv`.

    Load it with, e.g., `bv completion bash > ~/.local/share/bash-completion/completions/bv`.

    Parameters
    ----------
    shell
        The shell the script is for.
    """
    print(app.generate_completion(prog_name="bv", shell=shell))


def run(tokens: Sequence[str] | None = None) -> int:
    """Run `bv` with `tokens` (default: the process's arguments); the exit code."""
    try:
        app(sys.argv[1:] if tokens is None else list(tokens))
    except CliError as error:
        return _fail(error, error.exit_code)
    except cyclopts.CycloptsError as error:  # the command line did not parse
        return _fail(error, 2)
    except KeyboardInterrupt:
        return 130
    except SystemExit as error:  # --help or --version
        return error.code if isinstance(error.code, int) else 1
    except Exception as error:  # a bug or an unforeseen system error: still one line
        return _fail(f"{type(error).__name__}: {error}", 1)
    return 0


def _fail(error: object, code: int) -> int:
    print(error_line(error), file=sys.stderr)
    return code


def main() -> None:
    # Output cut short by a reader that went away (`bv node job x logs | head`) ends `bv` quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(run())
