"""`bv config init`: the host config `ROOT/etc/blockvisor.json` the daemon needs before it starts."""

import cyclopts

from blockvisor_core import config
from blockvisor_core.cli.errors import CliError
from blockvisor_core.cli.session import OutputFormat, emit, paths

config_app = cyclopts.App(name="config", help="The host config, ROOT/etc/blockvisor.json.")


@config_app.command
def init(*, output: OutputFormat = "text") -> None:
    """Create the host config, a standalone config named after this machine, unless it exists (an existing
    one is checked, never changed)."""
    where = paths()
    existed = where.config.exists()
    try:
        created = config.init_config(where)
    except config.ConfigError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write {where.config}: {error.strerror or error}") from None
    text = f"Host config {where.config} {'exists' if existed else 'created'}"
    emit(output, text, {"path": str(where.config), "created": not existed, "mode": str(created.mode)})
