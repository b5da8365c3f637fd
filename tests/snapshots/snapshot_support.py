"""Helpers of the snapshot tests: nodes with an archive config, job contexts, trees, archives to craft."""

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import blake3

from babel_api.archive import Checksum, Chunk, DownloadManifest, DownloadMetadata, FileLocation, UploadSlots
from babel_api.models import JobConfig, JobProgress, JobType, NodeEnv, RestartPolicy
from blockvisor_core.agent.runner import error_chain
from blockvisor_core.files import write_atomic
from blockvisor_core.job_kinds import ArchiveApi, JobContext
from blockvisor_core.node_access import NodeAccess
from blockvisor_core.paths import archive_config
from blockvisor_plugins.snapshots import archive_store
from blockvisor_plugins.snapshots.archive import StoreArchive
from blockvisor_plugins.snapshots.settings import Settings

NODE_ENV = NodeEnv(data_mount_point="/blockjoy", protocol_data_path="/blockjoy/protocol_data")
STORE_KEY = "testnet-main-v1"

#: Settings that make small trees cross every boundary: pieces of 64 bytes, ranged GETs of 150; a
#: failed request is tried twice more (`rclone serve s3` answers 500 now and then, as S3 may).
SMALL = Settings(
    max_runners=4,
    max_connections=2,
    part_size=150,
    piece_size=64,
    max_retries=2,
    backoff_base=0.001,
    timeout=10,
    compress_threads=0,
)


@attrs.define
class Node:
    """A node folder laid out as the process runtime sees it: node paths are paths below `root`."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "blockjoy/protocol_data"

    @property
    def meta(self) -> Path:
        return self.root / "blockjoy/.babel_jobs"

    @property
    def job_dir(self) -> Path:
        return self.root / "var/lib/babel/jobs/job"

    def configure(self, store: dict, store_key: str = STORE_KEY) -> "Node":
        path = archive_config(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"store": store, "store_key": store_key}))
        return self

    def archive(self) -> ArchiveApi:
        """The node's archive as the plugin builds it (without the plugin manager: see the hook tests)."""
        config = json.loads(archive_config(self.root).read_text())
        return StoreArchive(archive_store(config["store"]), config["store_key"])

    def context(self, job_type: JobType, archive: ArchiveApi | None = None) -> JobContext:
        self.job_dir.mkdir(parents=True, exist_ok=True)
        return JobContext(
            name="job",
            config=JobConfig(job_type=job_type, restart=RestartPolicy.never()),
            node_env=NODE_ENV,
            access=NodeAccess(cwd="/", mounts={"/": self.root}),
            job_dir=self.job_dir,
            archive=archive if archive is not None else self.archive(),
            stop=threading.Event(),
            report_progress=self.write_progress,
        )

    def write_progress(self, progress: JobProgress) -> None:
        """What the job runner does with a job's progress."""
        write_atomic(self.job_dir / "progress.json", json.dumps(progress.to_json()))

    def progress(self) -> dict:
        return json.loads((self.job_dir / "progress.json").read_text())


@contextlib.contextmanager
def fails_with(pattern: str) -> Iterator[None]:
    """The block raises, and the job runner's report of the error (the error and its causes, as the
    original words them) matches `pattern`."""
    try:
        yield
    except Exception as error:
        report = error_chain(error)
        assert re.search(pattern, report), f"{pattern!r} not found in {report!r}"
    else:
        raise AssertionError(f"no error, expected one matching {pattern!r}")


def write_tree(root: Path, files: dict[str, bytes | None]) -> None:
    """Create `files` below `root`: path -> content, or None for an (empty) folder."""
    for path, content in files.items():
        target = root / path
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


def tree(root: Path) -> dict[str, str]:
    """What a folder holds: file path -> sha1 of its bytes, `folder/` -> "" for an empty folder,
    `link` -> "-> target" for a symbolic link."""
    found = {}
    for folder, folders, files in os.walk(root):
        base = Path(folder).relative_to(root)
        for name in folders + files:
            path = Path(folder) / name
            if path.is_symlink():
                found[str(base / name)] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[str(base / name)] = hashlib.sha1(path.read_bytes()).hexdigest()
            elif not any(path.iterdir()):
                found[f"{base / name}/"] = ""
    return found


def blake3_checksum(data: bytes) -> Checksum:
    return Checksum.blake3(blake3.blake3(data).digest())


def sha256_checksum(data: bytes) -> Checksum:
    return Checksum.sha256(hashlib.sha256(data).digest())


def sha1_checksum(data: bytes) -> Checksum:
    return Checksum.sha1(hashlib.sha1(data).digest())


class CraftedArchive:
    """An `ArchiveApi` serving a manifest written by a test, its chunk objects stored in a real store
    (URLs presigned by it), and recording every call. `urls` overrides a chunk's URL by index."""

    def __init__(self, store, metadata: DownloadMetadata, chunks: Sequence[Chunk]) -> None:
        self.store = store
        self.metadata = metadata
        self.chunks = {chunk.index: chunk for chunk in chunks}
        self.calls: list[tuple] = []
        self.urls: dict[int, list[str]] = {}

    def put_object(self, key: str, data: bytes) -> None:
        self.store.write(key, data)

    def get_download_metadata(self) -> DownloadMetadata:
        self.calls.append(("get_download_metadata",))
        return self.metadata

    def get_download_chunks(self, data_version: int, indexes: Sequence[int]) -> list[Chunk]:
        self.calls.append(("get_download_chunks", data_version, sorted(indexes)))
        chunks = []
        for index in indexes:
            chunk = self.chunks.get(index)
            if chunk is not None:
                overrides = self.urls.get(index)
                url = (
                    overrides.pop(0)
                    if overrides
                    else self.store.presign_get(chunk.key, 600)
                    if chunk.key
                    else None
                )
                chunks.append(attrs.evolve(chunk, url=url))
        return chunks

    def get_upload_slots(self, data_version, indexes, url_expires_secs) -> UploadSlots:
        raise AssertionError("a download asked for upload slots")

    def put_download_manifest(self, manifest: DownloadManifest, data_version: int) -> None:
        raise AssertionError("a download handed in a manifest")

    def chunk_calls(self) -> list[list[int]]:
        return [call[2] for call in self.calls if call[0] == "get_download_chunks"]


class RecordingArchive:
    """Wraps an `ArchiveApi`, recording the calls; `tamper(url)` may rewrite the URLs it hands out."""

    def __init__(self, inner: ArchiveApi, tamper=None) -> None:
        self.inner = inner
        self.tamper = tamper or (lambda url: url)
        self.calls: list[tuple] = []

    def get_download_metadata(self) -> DownloadMetadata:
        self.calls.append(("get_download_metadata",))
        return self.inner.get_download_metadata()

    def get_download_chunks(self, data_version: int, indexes: Sequence[int]) -> list[Chunk]:
        self.calls.append(("get_download_chunks", data_version, sorted(indexes)))
        chunks = self.inner.get_download_chunks(data_version, indexes)
        return [attrs.evolve(chunk, url=chunk.url and self.tamper(chunk.url)) for chunk in chunks]

    def get_upload_slots(self, data_version, indexes, url_expires_secs) -> UploadSlots:
        self.calls.append(("get_upload_slots", data_version, sorted(indexes), url_expires_secs))
        slots = self.inner.get_upload_slots(data_version, indexes, url_expires_secs)
        return UploadSlots(
            [attrs.evolve(slot, url=self.tamper(slot.url)) for slot in slots.slots], slots.data_version
        )

    def put_download_manifest(self, manifest: DownloadManifest, data_version: int) -> None:
        self.calls.append(("put_download_manifest", data_version))
        self.inner.put_download_manifest(manifest, data_version)

    def named(self, name: str) -> list[tuple]:
        return [call for call in self.calls if call[0] == name]


def location(path: str, pos: int, size: int) -> FileLocation:
    return FileLocation(path, pos, size)
