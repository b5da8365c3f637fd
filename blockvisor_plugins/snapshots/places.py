"""Where a transfer job works, as host paths: the protocol data and the persistent state."""

from pathlib import Path

import attrs

from blockvisor_core.job_kinds import JobContext

from .state import META_DIR

#: The original's defaults, for a node environment that names no data paths.
DEFAULT_DATA_MOUNT = "/blockjoy"
DEFAULT_PROTOCOL_DATA = "/blockjoy/protocol_data"


@attrs.frozen(kw_only=True)
class Places:
    """`data`: the protocol data folder (what is downloaded into and uploaded from); `data_node_path`:
    the same folder as the node sees it (upload blueprints name files by node paths, as the original);
    `data_mount`: the data volume, holding the protocol-data lock; `meta`: the jobs' state files,
    which survive a node upgrade."""

    data: Path
    data_node_path: str
    data_mount: Path
    meta: Path

    @classmethod
    def of(cls, ctx: JobContext) -> "Places":
        data_node_path = ctx.node_env.protocol_data_path or DEFAULT_PROTOCOL_DATA
        data_mount = ctx.access.host_path(ctx.node_env.data_mount_point or DEFAULT_DATA_MOUNT)
        return cls(
            data=ctx.access.host_path(data_node_path),
            data_node_path=data_node_path.rstrip("/"),
            data_mount=data_mount,
            meta=data_mount / META_DIR,
        )
