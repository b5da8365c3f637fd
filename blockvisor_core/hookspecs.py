"""The host hooks: how built-in and third-party plugins extend BlockVisor. This module is the contract.

Built-in plugins (`blockvisor_plugins`) are registered from one list in `blockvisor_core.plugins`, and
third-party ones from the entry point group `blockvisor`, through the same plugin manager: a plugin
is any object or module with `@hookimpl` functions named after these hooks.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy

from babel_api.models import NodeEnv
from blockvisor_core.archive_store import ArchiveStore
from blockvisor_core.job_kinds import ArchiveApi, JobKind
from blockvisor_core.node_access import NodeAccess
from blockvisor_core.runtime import Runtime

PROJECT = "blockvisor"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def node_runtimes() -> list[Runtime]:
    """The runtimes a plugin provides. The host's config names the one to use; by default the first
    available of apptainer, bwrap and process."""


@hookspec(firstresult=True)
def runtime_node_access(runtime: str, node_dir: Path) -> NodeAccess | None:
    """How the node agent reaches into a node run by `runtime`: commands, paths and network.

    `node_dir` is the node's folder on the host. Answer only for your own runtime's name; return None
    for any other, so that the runtime that owns the name answers.
    """


@hookspec
def agent_job_kinds() -> dict[str, JobKind]:
    """The job kinds a plugin runs in job runners, by the `JobType` kind they run (`download`, `upload`)."""


@hookspec(firstresult=True)
def archive_api(node_dir: Path, node_env: NodeEnv) -> ArchiveApi | None:
    """The archive of the node's protocol data, for download and upload jobs (None: not yours to say)."""


@hookspec(firstresult=True)
def archive_store(config: Mapping[str, Any]) -> ArchiveStore | None:
    """The archive store that `config` describes (None: not yours to say).

    `config` is the `store` map of a node's archive config; answer only for your own `config["kind"]`
    (`s3`, `local`, ...) and raise `ValueError` naming the field when the rest of it is wrong.
    """
