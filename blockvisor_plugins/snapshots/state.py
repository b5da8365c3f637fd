"""The transfer jobs' state files in `<data_mount_point>/.babel_jobs/`, in the original's formats
(spec §3.3, §4.8).

Whole-file state (`download.metadata`, `upload.blueprint`) is replaced atomically. Chunk lists
(`download.chunks`, `download.parts`, `upload.chunks`) are JSON Lines, one chunk per line, appended
and synced line by line: rewriting a list of thousands of chunks for every chunk would cost more than
the chunks. A crash can leave at most a torn last line without its newline; it is not counted, and
it is cut off before the next line is appended.
"""

import json
import logging
import os
import threading
from pathlib import Path

import attrs

from babel_api.archive import Chunk, DownloadManifest, DownloadMetadata
from babel_api.models import Timestamp
from babel_api.shapes import ShapeError, UInt64, structure
from blockvisor_core.files import write_atomic

log = logging.getLogger(__name__)

META_DIR = ".babel_jobs"
#: The lock whose modification time stamps the protocol data (touched by services that change it).
DATA_LOCK = ".protocol_data.lock"


class ChunkList:
    """A JSON Lines file of chunks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> list[Chunk]:
        """The chunks recorded so far; a torn last line is cut off, a line that is not a chunk skipped."""
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return []
        whole = content[: content.rfind(b"\n") + 1]
        if len(whole) != len(content):
            write_atomic(self.path, whole)
        chunks = []
        for number, line in enumerate(whole.splitlines(), 1):
            try:
                chunks.append(Chunk.from_json(json.loads(line)))
            except (ValueError, ShapeError) as error:
                log.warning("%s:%d: not a chunk, ignored: %s", self.path, number, error)
        return chunks

    def append(self, chunk: Chunk) -> None:
        """Record `chunk` durably (its line is synced before this returns)."""
        line = json.dumps(chunk.to_json(), separators=(",", ":")).encode() + b"\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _read_json(path: Path) -> object | None:
    """The parsed content of `path`; None when it is missing or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as error:
        log.warning("%s: not JSON, ignored: %s", path, error)
        return None


def _write_json(path: Path, value: object) -> None:
    write_atomic(path, json.dumps(value, separators=(",", ":")))


class DownloadState:
    """`download.metadata` (pins the archive version), `download.chunks` (chunks written and synced),
    `download.parts` (chunks started: their files are removed when a download starts over)."""

    def __init__(self, meta_dir: Path) -> None:
        meta_dir.mkdir(parents=True, exist_ok=True)
        self.metadata_path = meta_dir / "download.metadata"
        self.chunks = ChunkList(meta_dir / "download.chunks")
        self.parts = ChunkList(meta_dir / "download.parts")

    def metadata(self) -> DownloadMetadata | None:
        value = _read_json(self.metadata_path)
        try:
            return None if value is None else DownloadMetadata.from_json(value)
        except ShapeError as error:
            log.warning("%s: not download metadata, ignored: %s", self.metadata_path, error)
            return None

    def save_metadata(self, metadata: DownloadMetadata) -> None:
        _write_json(self.metadata_path, metadata.to_json())

    def remove(self) -> None:
        self.chunks.remove()
        self.parts.remove()
        self.metadata_path.unlink(missing_ok=True)


@attrs.frozen
class Blueprint:
    """An upload in progress: the chunk layout, the data version it goes to, and the data stamp
    (modification time of the protocol-data lock) it was laid out under."""

    manifest: DownloadManifest
    data_version: int
    data_stamp: Timestamp | None

    def to_json(self) -> dict:
        return {
            "manifest": self.manifest.to_json(),
            "data_version": self.data_version,
            "data_stamp": None if self.data_stamp is None else self.data_stamp.to_json(),
        }


class UploadState:
    """`upload.blueprint` (saved before any chunk goes up, never with URLs) and `upload.chunks`
    (chunks uploaded, with their keys, sizes and checksums)."""

    def __init__(self, meta_dir: Path) -> None:
        meta_dir.mkdir(parents=True, exist_ok=True)
        self.blueprint_path = meta_dir / "upload.blueprint"
        self.chunks = ChunkList(meta_dir / "upload.chunks")

    def blueprint(self) -> Blueprint | None:
        value = _read_json(self.blueprint_path)
        if not isinstance(value, dict):
            return None
        try:
            stamp = value.get("data_stamp")
            return Blueprint(
                DownloadManifest.from_json(value.get("manifest")),
                structure(UInt64, value.get("data_version"), "data_version"),
                None if stamp is None else Timestamp.from_json(stamp),
            )
        except ShapeError as error:
            log.warning("%s: not an upload blueprint, ignored: %s", self.blueprint_path, error)
            return None

    def blueprint_mtime_ns(self) -> int:
        """When the blueprint was laid out: files changed after it changed under the upload."""
        return self.blueprint_path.stat().st_mtime_ns

    def save_blueprint(self, blueprint: Blueprint) -> None:
        """Start over with `blueprint`: the chunks of any earlier blueprint are forgotten first."""
        self.chunks.remove()
        _write_json(self.blueprint_path, blueprint.to_json())

    def remove(self) -> None:
        self.chunks.remove()
        self.blueprint_path.unlink(missing_ok=True)


def data_stamp(data_mount: Path) -> Timestamp | None:
    """The modification time of the protocol-data lock; None when there is no lock."""
    try:
        return Timestamp.from_nanos((data_mount / DATA_LOCK).stat().st_mtime_ns)
    except FileNotFoundError:
        return None
