"""`bv node shell`: an interactive shell inside a node, attached to the terminal.

The node's runtime says how to run a command inside the node (its `NodeAccess`); `bv` replaces itself
with `sh` run that way, started in the node's folder, so the shell owns the terminal and its exit code is
`bv`'s. For the `process` runtime, which has no isolation, that is a shell on the host in the node's folder.
"""

import os
import sys
from typing import NoReturn

from blockvisor_core.cli.errors import CliError
from blockvisor_core.paths import Paths
from blockvisor_core.protos import blockvisor_pb2 as pb

SHELL = "sh"


def exec_shell(paths: Paths, node: pb.Node) -> NoReturn:
    node_dir = paths.node_dir(node.id)
    if not node_dir.is_dir():
        raise CliError(f"node `{node.name}` has no folder at {node_dir}")
    # Imported here: loading the runtime plugins would slow the start of every other `bv` command.
    from blockvisor_core.plugins import plugin_manager

    access = plugin_manager().hook.runtime_node_access(runtime=node.runtime, node_dir=node_dir)
    if access is None:
        raise CliError(
            f"node `{node.name}` runs on runtime `{node.runtime}`, which no installed plugin provides"
        )
    argv = access.command([SHELL])
    # The terminal's type, so that line editing and full-screen tools work in the shell.
    env = {**access.env, **({"TERM": os.environ["TERM"]} if "TERM" in os.environ else {})}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.chdir(node_dir)
        os.execvpe(argv[0], argv, env)
    except OSError as error:
        raise CliError(f"cannot run {argv[0]}: {error.strerror or error}") from None
