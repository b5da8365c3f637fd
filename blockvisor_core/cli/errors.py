"""The errors a `bv` command ends with: each is printed as one line `Error: <message>`."""

from typing import Any

from cyclopts import Parameter


class CliError(Exception):
    """A command that could not do its work (exit code 1): an unknown node, a daemon that is down, ..."""

    exit_code = 1


class UsageError(CliError):
    """A command line that does not say what to do (exit code 2): conflicting options, a bad `--props`."""

    exit_code = 2


def error_line(error: object) -> str:
    """The one line that reports `error`."""
    return f"Error: {' '.join(str(error).split())}"


#: The settings of every cyclopts `App` of `bv`: a command line that does not parse raises its
#: `CycloptsError`, which `bv` reports as the one plain line every other error is; and flags have no
#: `--no-...` twins.
APP_SETTINGS: dict[str, Any] = {
    "print_error": False,
    "exit_on_error": False,
    "default_parameter": Parameter(negative=()),
}
