"""`babel`: the agent of one node, run in the foreground by the daemon (or by hand when debugging)."""

import logging
import sys
from pathlib import Path

import cyclopts

from blockvisor_core.agent.errors import AgentError
from blockvisor_core.agent.service import serve

app = cyclopts.App(name="babel", help="Serve the agent of one node on NODE_DIR/babel.socket.")


@app.default
def run(*, node_dir: Path, runtime: str = "process") -> None:
    """Serve the node's agent until SIGTERM, SIGINT or SIGHUP; the node's jobs keep running afterwards.

    Parameters
    ----------
    node_dir
        The node's folder on the host.
    runtime
        The runtime that runs the node, as named by its plugin.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(node_dir, runtime)
    except AgentError as error:
        sys.exit(f"babel: {error}")


def main() -> None:
    app()
