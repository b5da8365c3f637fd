"""Snapshots: the chunked transfer engine and the archive stores, as a host plugin.

Provides the `download` and `upload` job kinds (`agent_job_kinds`), the archive of a node built from
its archive config (`archive_api`), and two archive stores (`archive_store`): `s3` (any S3-compatible
object storage, through SigV4 presigned URLs) and `local` (a folder of the host).
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel_api.models import NodeEnv
from blockvisor_core.archive_store import ArchiveStore
from blockvisor_core.hookspecs import hookimpl
from blockvisor_core.job_kinds import ArchiveApi, JobKind
from blockvisor_core.paths import archive_config

from .archive import StoreArchive
from .download import download_job
from .stores.local import LocalStore
from .stores.s3 import S3Store
from .upload import upload_job


@hookimpl
def agent_job_kinds() -> dict[str, JobKind]:
    return {"download": download_job, "upload": upload_job}


@hookimpl
def archive_store(config: Mapping[str, Any]) -> ArchiveStore | None:
    kind = config.get("kind")
    if kind == "s3":
        return S3Store.from_config(config)
    if kind == "local":
        return LocalStore.from_config(config)
    return None


@hookimpl
def archive_api(node_dir: Path, node_env: NodeEnv) -> ArchiveApi | None:
    """The archive named by `<node_dir>/var/lib/babel/archive.json`; None when the node has none."""
    from blockvisor_core.plugins import plugin_manager

    path = archive_config(node_dir)
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if not isinstance(config, dict) or not isinstance(config.get("store"), dict):
        raise ValueError(f"{path}: store: expected a map")
    store = plugin_manager().hook.archive_store(config=config["store"])
    if store is None:
        raise ValueError(f"{path}: store.kind: no archive store of kind {config['store'].get('kind')!r}")
    store_key = config.get("store_key")
    if not isinstance(store_key, str):
        raise ValueError(f"{path}: store_key: expected a string")
    return StoreArchive(store, store_key)
