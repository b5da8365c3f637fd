"""Job kinds that plugins run in the agent's job runners (download, upload), and what they are given.

The runner owns everything around a job (restarts, status, stop signals); a job kind is one attempt
at the work: it returns when done and raises when it failed, and the runner applies the job's restart
policy. It reaches the archive (manifest, presigned URLs) only through `ArchiveApi`.
"""

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import attrs

from babel_api.archive import Chunk, DownloadManifest, DownloadMetadata, UploadSlots
from babel_api.models import JobConfig, JobProgress, NodeEnv
from blockvisor_core.node_access import NodeAccess


class ArchiveApi(Protocol):
    """The archive of a node's protocol data: where its snapshots are, and presigned URLs to them."""

    def get_download_metadata(self) -> DownloadMetadata:
        """The latest snapshot's header: total size, compression, chunk count, data version."""

    def get_download_chunks(self, data_version: int, indexes: Sequence[int]) -> list[Chunk]:
        """The chunks at `indexes` of snapshot `data_version`, each with a fresh presigned GET URL."""

    def get_upload_slots(
        self, data_version: int | None, indexes: Sequence[int], url_expires_secs: int
    ) -> UploadSlots:
        """Presigned PUT URLs for chunks `indexes` of a new snapshot (`None`: the next data version)."""

    def put_download_manifest(self, manifest: DownloadManifest, data_version: int) -> None:
        """Publish a finished upload's manifest, making `data_version` the latest snapshot."""


@attrs.frozen(kw_only=True)
class JobContext:
    """One attempt at a job, as its kind sees it."""

    name: str
    config: JobConfig
    node_env: NodeEnv
    access: NodeAccess
    job_dir: Path
    archive: ArchiveApi
    stop: threading.Event
    report_progress: Callable[[JobProgress], None]


#: A job kind: one attempt at the job; returns when done, raises when it failed.
JobKind = Callable[[JobContext], None]
