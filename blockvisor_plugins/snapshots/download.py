"""The download job (spec §3): fetch an archive's chunks into the data folder, resuming where it stood.

One attempt: pin the archive version (`download.metadata`), skip the chunks already recorded in
`download.chunks`, ask the archive for the others in batches of `max_runners` (fresh presigned URLs
each time), and run up to `max_runners` chunks at once. A chunk streams: ranged GETs of `part_size`
bytes are hashed as they arrive (the checksum covers the stored bytes), decoded by a streaming zstd
decoder and written piece by piece into their files with `pwrite`; memory per chunk is a few pieces,
whatever the chunk size. A chunk counts as done only once its bytes are verified and synced to disk;
then its line is appended to `download.chunks`.

Failures: a network error resumes the chunk's GET at the byte it reached; a refused URL (expired,
tampered with) is replaced by a fresh one; a checksum mismatch or undecodable data fetches the chunk
again from its start; each chunk gets `max_retries` of these. A manifest that would write outside
the data folder, or write a byte twice, is refused before anything is written.
"""

import concurrent.futures
import contextlib
import logging
import resource
import threading
import time
from collections.abc import Iterable
from pathlib import PurePosixPath

import attrs
import zstandard

from babel_api.archive import Chunk, DownloadMetadata
from babel_api.models import Compression
from blockvisor_core.job_kinds import JobContext

from .checksums import hasher
from .claims import Claims, ManifestError
from .coders import decoder
from .folder import DataFolder, UnsafePathError, is_folder, relative
from .places import Places
from .progress import Progress
from .retries import Retries
from .settings import Settings
from .state import DownloadState
from .transport import Interrupted, TransferError, Transport
from .writer import ChunkWriter, CorruptChunkError, Touched

log = logging.getLogger(__name__)

#: Threads syncing completed files (shared by the chunks in flight).
SYNC_THREADS = 8
#: Open files a download may need: a batch of files waiting for their sync per chunk in flight.
OPEN_FILES = 1024


class DownloadError(Exception):
    """A download attempt failed; the message says why, naming the chunk where there is one."""


class _ChunkStream:
    """One try at a chunk from its first stored byte: hashes what arrives, decodes it, writes it."""

    def __init__(
        self,
        chunk: Chunk,
        compression: Compression | None,
        folder: DataFolder,
        touched: Touched,
        syncer: concurrent.futures.Executor,
        progress: Progress,
        piece_size: int,
    ) -> None:
        self.chunk = chunk
        self.offset = 0
        self._progress = progress
        self._writer = ChunkWriter(folder, touched, chunk.destinations, syncer)
        self._sink = decoder(compression, self._writer, piece_size)
        self._digest = hasher(chunk.checksum.kind)

    def consume(self, view: memoryview) -> None:
        self._digest.update(view)
        before = self._writer.written
        try:
            self._sink.write(view)
        except zstandard.ZstdError as error:
            raise CorruptChunkError("chunk data is not valid zstd") from error
        self.offset += len(view)
        self._progress.advance(self.chunk.index, self._writer.written - before)

    def finish(self) -> None:
        """All stored bytes are in: verify the checksum, then that every destination got its bytes."""
        expected, actual = self.chunk.checksum.digest, self._digest.digest()
        if actual != expected:
            raise CorruptChunkError(
                f"chunk checksum mismatch - expected {list(expected)}, actual {list(actual)}"
            )
        self._writer.finish()

    def close(self) -> None:
        self._writer.close()


class Download:
    """One attempt at a download job."""

    def __init__(self, ctx: JobContext, settings: Settings, transport: Transport | None = None) -> None:
        self.ctx = ctx
        self.settings = settings
        self.places = Places.of(ctx)
        self.transport = transport or Transport(settings.timeout)
        self.state = DownloadState(self.places.meta)
        self._halt = threading.Event()
        self._permits = threading.Semaphore(settings.max_connections)

    def run(self) -> None:
        _raise_open_file_limit()
        try:
            with (
                DataFolder(self.places.data) as self.folder,
                concurrent.futures.ThreadPoolExecutor(
                    SYNC_THREADS, thread_name_prefix="sync"
                ) as self._syncer,
            ):
                self._run()
        finally:
            self.transport.close()

    def _run(self) -> None:
        self.metadata = self._metadata()
        self.claims = Claims(self.metadata.total_size)
        completed: dict[int, Chunk] = {}
        for chunk in self.state.chunks.load():
            if chunk.index >= self.metadata.chunks:
                raise ManifestError(
                    f"download.chunks records chunk {chunk.index}, the archive has {self.metadata.chunks}"
                )
            self.claims.add(chunk)
            completed[chunk.index] = chunk
        done_bytes = sum(place.size for chunk in completed.values() for place in chunk.destinations)
        required = self.metadata.total_size - done_bytes
        available = self.folder.free_space()
        if required > available:
            raise DownloadError(f"Can't download {required} bytes of data while only {available} available")
        self.progress = Progress(
            self.ctx.report_progress,
            chunks_total=self.metadata.chunks,
            chunks_done=len(completed),
            bytes_total=self.metadata.total_size,
            bytes_done=done_bytes,
        )
        self.progress.report()
        self.touched = Touched(
            relative(place.path) for chunk in completed.values() for place in chunk.destinations
        )
        self._fetch_all(completed)
        if self.ctx.stop.is_set():
            raise Interrupted("download interrupted")
        self._unify_times(completed.values())

    def _metadata(self) -> DownloadMetadata:
        """The version this download is pinned to; on a fresh start, the remnants of an earlier download
        are removed first (spec §3.10)."""
        metadata = self.state.metadata()
        if metadata is not None:
            return metadata
        for chunk in self.state.parts.load():
            for place in chunk.destinations:
                try:
                    self.folder.remove(relative(place.path))
                except UnsafePathError as error:
                    log.warning("download.parts: %s; not removed", error)
        self.state.remove()
        metadata = self.ctx.archive.get_download_metadata()
        self.state.save_metadata(metadata)
        return metadata

    def _stopping(self) -> bool:
        return self._halt.is_set() or self.ctx.stop.is_set()

    def _fetch_all(self, completed: dict[int, Chunk]) -> None:
        """Run the missing chunks, `max_runners` at a time; record each as it completes."""
        runners = self.settings.max_runners
        to_ask = [index for index in range(self.metadata.chunks) if index not in completed]
        batch: list[Chunk] = []
        running: dict[concurrent.futures.Future, Chunk] = {}
        error: BaseException | None = None
        with concurrent.futures.ThreadPoolExecutor(runners, thread_name_prefix="download") as pool:
            try:
                while True:
                    while not self._stopping() and len(running) < runners and (batch or to_ask):
                        if not batch:
                            try:
                                batch = self._ask(to_ask)
                            except Exception as failure:
                                error = failure
                                self._halt.set()
                                break
                            asked = {chunk.index for chunk in batch}
                            to_ask = [index for index in to_ask if index not in asked]
                            continue
                        chunk = batch.pop()
                        self.state.parts.append(attrs.evolve(chunk, url=None))
                        running[pool.submit(self._fetch, chunk)] = chunk
                    if not running:
                        break
                    finished, _ = concurrent.futures.wait(
                        running, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    if self.ctx.stop.is_set():
                        self._halt.set()
                    for future in finished:
                        chunk = running.pop(future)
                        try:
                            future.result()
                        except Exception as failure:
                            error = error or failure
                            self._halt.set()
                            continue
                        self.state.chunks.append(attrs.evolve(chunk, url=None))
                        completed[chunk.index] = chunk
                        self.progress.done(chunk.index, sum(place.size for place in chunk.destinations))
            finally:
                self._halt.set()
        if error is not None and not self.ctx.stop.is_set():
            raise error

    def _ask(self, to_ask: list[int]) -> list[Chunk]:
        """Descriptors and fresh URLs for the next chunks, checked; never an empty batch."""
        indexes = to_ask[-self.settings.max_runners :]
        wanted = set(indexes)
        batch = []
        for chunk in self.ctx.archive.get_download_chunks(self.metadata.data_version, indexes):
            if chunk.index not in wanted:
                continue
            wanted.discard(chunk.index)
            try:
                self.claims.add(chunk)
                if chunk.size and not chunk.url:
                    raise ManifestError(f"missing chunk {chunk.key} url")
            except ValueError as failure:
                raise DownloadError(f"chunk '{chunk.key}' download failed") from failure
            batch.append(chunk)
        if not batch:
            raise DownloadError(f"the archive returned none of the chunks asked for: {sorted(indexes)}")
        return batch

    def _fresh_url(self, chunk: Chunk) -> str:
        for fresh in self.ctx.archive.get_download_chunks(self.metadata.data_version, [chunk.index]):
            if fresh.index == chunk.index and fresh.destinations == chunk.destinations and fresh.url:
                return fresh.url
        raise DownloadError(f"the archive gave no fresh URL for chunk {chunk.index}")

    def _fetch(self, chunk: Chunk) -> None:
        try:
            self._fetch_chunk(chunk)
        except Interrupted:
            raise
        except Exception as error:
            raise DownloadError(f"chunk '{chunk.key}' download failed") from error

    def _fetch_chunk(self, chunk: Chunk) -> None:
        settings = self.settings
        retries = Retries(settings.max_retries, settings.backoff_base, self._halt)
        buffer = memoryview(bytearray(min(settings.piece_size, max(chunk.size, 1))))
        url = chunk.url
        while not self._halt.is_set():
            self.progress.restart(chunk.index)
            stream = _ChunkStream(
                chunk,
                self.metadata.compression,
                self.folder,
                self.touched,
                self._syncer,
                self.progress,
                settings.piece_size,
            )
            try:
                while stream.offset < chunk.size:
                    if self._halt.is_set():
                        raise Interrupted("download interrupted")
                    try:
                        length = min(settings.part_size, chunk.size - stream.offset)
                        self.transport.get_range(
                            url, stream.offset, length, buffer, stream.consume, self._halt, self._permits
                        )
                    except TransferError as error:
                        retries.failed(error)
                        if error.refused:
                            url = self._fresh_url(chunk)
                stream.finish()
                return
            except CorruptChunkError as error:
                retries.failed(error)
            finally:
                stream.close()
        raise Interrupted("download interrupted")

    def _unify_times(self, chunks: Iterable[Chunk]) -> None:
        """Give every downloaded file the same access and modification time (spec §3.4 step 8)."""
        now = time.time_ns()
        paths = {relative(place.path) for chunk in chunks for place in chunk.destinations}
        for path in sorted(paths):
            if not is_folder(path):
                self.folder.set_times(path, now)


def _raise_open_file_limit() -> None:
    """Raise the soft limit of open files to `OPEN_FILES` if it is lower and the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < OPEN_FILES:
        with contextlib.suppress(ValueError, OSError):
            limit = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def download_job(ctx: JobContext, settings: Settings | None = None) -> None:
    """One attempt at the download job of `ctx`; returns when every chunk is in, raises when it failed.

    Protocol data that is already there (its lock exists) is never downloaded over (spec §2.7).
    """
    lock = ctx.access.host_path(PurePosixPath(ctx.node_env.data_mount_point) / ".protocol_data.lock")
    if lock.exists():
        return
    options = ctx.config.job_type.data
    Download(ctx, (settings or Settings()).with_options(options)).run()
