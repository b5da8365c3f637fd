"""The upload job (spec §4): lay the data folder out into chunks, compress, checksum and PUT each one
to a presigned URL, then hand in the manifest. Resumes where it stood after any interruption.

A fresh upload scans the data folder, lays the files out (`blueprint`), asks for the first slots
(which pins the data version) and saves `upload.blueprint`; every chunk that went up is appended to
`upload.chunks` and never sent again while the blueprint holds. The blueprint is dropped, and the
next attempt starts over, when the protocol-data lock was touched since, or when a file turns out to
have changed under the upload: its size differs from the layout's, it was modified after the
blueprint was saved (or while being read), it is gone, or a link took its place.

Memory does not grow with the chunk size. A presigned PUT needs its Content-Length before the first
byte, so a compressed chunk is first written to a spill file (anonymous, in the state folder: it
vanishes with the process, whatever kills it) and then sent from there with `sendfile`. The spill
costs a sequential write and read of the compressed bytes, at disk cache speed; compressing twice
(once to learn the size) would cost a second full compression, the very thing the job is bound by.
Chunks are compressed one after another with zstd's worker threads on every core, highest index
first, while up to `max_connections` earlier chunks go up; at most `max_connections + 1` chunks (and
never more than `max_runners`) are in flight, so uploading overlaps compressing and the spill files
never hold more than that many compressed chunks. Without compression, a PUT streams straight from
the files.
"""

import concurrent.futures
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from typing import BinaryIO

import attrs
import blake3
import zstandard

from babel_api.archive import Checksum, Chunk, DownloadManifest, FileLocation
from babel_api.models import UploadOptions
from blockvisor_core.job_kinds import JobContext

from .blueprint import chunk_count, lay_out
from .checksums import EMPTY
from .coders import compressor
from .folder import DataFolder, UnsafePathError, is_folder
from .globs import Exclude
from .places import Places
from .progress import Progress
from .retries import Retries
from .settings import Settings
from .sources import scan
from .state import Blueprint, UploadState, data_stamp
from .transport import Body, Interrupted, TransferError, Transport

log = logging.getLogger(__name__)


class UploadError(Exception):
    """An upload attempt failed; the message says why, naming the chunk where there is one."""


class DataChangedError(UploadError):
    """The data changed under the upload, or the blueprint is inconsistent: the next attempt starts over."""


@attrs.frozen
class Packed:
    """A compressed chunk waiting in its spill file."""

    file: BinaryIO
    size: int
    checksum: Checksum


class SourceReader:
    """Reads the pieces of a chunk's files, checking on the way that none changed since the layout."""

    def __init__(
        self, folder: DataFolder, manifest: DownloadManifest, base: str, since_ns: int, piece_size: int
    ):
        self._folder = folder
        self._prefix = base + "/"
        self._since_ns = since_ns
        self._piece_size = piece_size
        self._sizes: dict[str, int] = {}
        for chunk in manifest.chunks:
            for place in chunk.destinations:
                self._sizes[place.path] = max(self._sizes.get(place.path, 0), place.pos + place.size)

    def _check(self, place: FileLocation, fd: int) -> None:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise DataChangedError(f"file {place.path} is no longer a regular file")
        if status.st_size != self._sizes[place.path]:
            raise DataChangedError(
                f"file {place.path} changed size ({self._sizes[place.path]} -> {status.st_size} bytes)"
            )
        if status.st_mtime_ns > self._since_ns:
            raise DataChangedError(f"file {place.path} was modified after the upload began")

    def pieces(self, destinations: list[FileLocation]) -> Iterator[memoryview]:
        """The bytes of `destinations` in order, as views of one buffer reused from piece to piece
        (one buffer per call: uncompressed chunks are read by several senders at once)."""
        buffer = memoryview(bytearray(self._piece_size))
        for place in destinations:
            if is_folder(place.path):
                continue
            if not place.path.startswith(self._prefix):
                raise DataChangedError(f"internal error - blueprint path {place.path} outside {self._prefix}")
            try:
                fd = self._folder.open_read(place.path[len(self._prefix) :])
            except (FileNotFoundError, NotADirectoryError, UnsafePathError) as error:
                raise DataChangedError(f"file {place.path} disappeared") from error
            try:
                self._check(place, fd)
                position, left = place.pos, place.size
                while left:
                    count = os.preadv(fd, [buffer[: min(left, len(buffer))]], position)
                    if not count:
                        raise DataChangedError(f"file {place.path} shrank while being read")
                    yield buffer[:count]
                    position += count
                    left -= count
                self._check(place, fd)
            finally:
                os.close(fd)


def _write_all(file: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[file.write(view) :]


class Upload:
    """One attempt at an upload job."""

    def __init__(self, ctx: JobContext, settings: Settings, transport: Transport | None = None) -> None:
        self.ctx = ctx
        self.settings = settings
        self.options: UploadOptions = ctx.config.job_type.data or UploadOptions()
        self.places = Places.of(ctx)
        self.transport = transport or Transport(settings.timeout)
        self.state = UploadState(self.places.meta)
        self.done: dict[int, Chunk] = {}
        self._halt = threading.Event()
        self._urls: dict[int, tuple[str, str]] = {}
        self._urls_lock = threading.Lock()
        self._error: BaseException | None = None

    def run(self) -> None:
        if not self.places.data.is_dir():
            raise UploadError(f"can't read the data folder {self.places.data}: no such folder")
        try:
            with DataFolder(self.places.data, create=False) as folder:
                self._run(folder)
        except DataChangedError:
            self.state.remove()
            raise
        finally:
            self.transport.close()

    def _run(self, folder: DataFolder) -> None:
        self.blueprint = self._blueprint()
        manifest = self.blueprint.manifest
        self.reader = SourceReader(
            folder, manifest, self.places.data_node_path, self.state.blueprint_mtime_ns(),
            self.settings.piece_size,
        )  # fmt: skip
        self.progress = Progress(
            self.ctx.report_progress,
            chunks_total=len(manifest.chunks),
            chunks_done=len(self.done),
            bytes_total=manifest.total_size,
            bytes_done=sum(_uncompressed(chunk) for chunk in self.done.values()),
        )
        self.progress.report()
        self._upload_all([chunk for chunk in manifest.chunks if chunk.index not in self.done])
        if self.ctx.stop.is_set():
            raise Interrupted("upload interrupted")
        if self._error is not None:
            raise self._error
        prefix = self.places.data_node_path + "/"
        final = DownloadManifest(
            total_size=manifest.total_size,
            compression=manifest.compression,
            chunks=[
                attrs.evolve(
                    self.done[chunk.index],
                    destinations=[
                        attrs.evolve(place, path=place.path.removeprefix(prefix))
                        for place in chunk.destinations
                    ],
                )
                for chunk in manifest.chunks
            ],
        )
        try:
            self.ctx.archive.put_download_manifest(final, self.blueprint.data_version)
        except Exception as error:
            raise UploadError("failed to send DownloadManifest blueprint back to API") from error
        self.state.remove()

    def _blueprint(self) -> Blueprint:
        """The blueprint to go on with (and the chunks it has uploaded, in `done`), or a fresh one."""
        stamp = data_stamp(self.places.data_mount)
        blueprint = self.state.blueprint()
        if blueprint is not None and blueprint.data_stamp == stamp:
            indexes = {chunk.index for chunk in blueprint.manifest.chunks}
            for chunk in self.state.chunks.load():
                if chunk.index not in indexes:
                    raise UploadError(
                        "internal error - finished upload of chunk that doesn't exists in manifest"
                    )
                self.done[chunk.index] = chunk
            return blueprint
        if blueprint is not None:
            log.info("the protocol data changed since the upload was laid out; starting over")
        meta = self.places.meta.resolve()
        sources = scan(
            self.places.data,
            Exclude(self.options.exclude or []),
            skip=meta if meta.is_relative_to(self.places.data) else None,
        )
        if not sources:
            raise UploadError(f"nothing to upload: {self.places.data_node_path} holds no files or folders")
        total = sum(source.size for source in sources)
        count = chunk_count(total, self.options.number_of_chunks, self.settings.chunk_target)
        manifest = lay_out(sources, count, self.options.compression, self.places.data_node_path)
        first = [chunk.index for chunk in manifest.chunks[-self.settings.max_runners :]]
        blueprint = Blueprint(manifest, self._assign_slots(self.options.data_version, first), stamp)
        self.state.save_blueprint(blueprint)
        return blueprint

    def _assign_slots(self, version: int | None, indexes: list[int]) -> int:
        """Ask for URLs of chunks `indexes`; the data version they are for."""
        slots = self.ctx.archive.get_upload_slots(version, indexes, self.settings.upload_url_expiry)
        if version is not None and slots.data_version != version:
            raise UploadError(f"the archive gave slots of data version {slots.data_version}, not {version}")
        with self._urls_lock:
            for slot in slots.slots:
                if slot.index in indexes:
                    self._urls[slot.index] = (slot.key, slot.url)
        return slots.data_version

    def _url(self, chunk: Chunk, todo: list[Chunk]) -> tuple[str, str]:
        """The key and URL of `chunk`; asked for with those of the chunks next in line when missing."""
        with self._urls_lock:
            known = self._urls.get(chunk.index)
            missing = [
                c.index
                for c in [chunk, *reversed(todo)][: self.settings.max_runners]
                if c.index not in self._urls
            ]
        if known is None:
            self._assign_slots(self.blueprint.data_version, missing)
            with self._urls_lock:
                known = self._urls.get(chunk.index)
            if known is None:
                raise UploadError(f"missing chunk {chunk.index} url")
        return known

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._halt.set()

    def _stopping(self) -> bool:
        return self._halt.is_set() or self.ctx.stop.is_set()

    def _upload_all(self, todo: list[Chunk]) -> None:
        """Pack chunks one after another, highest index first, and hand each to a sender."""
        compression = self.blueprint.manifest.compression
        packer = compressor(compression, self.settings.compress_threads) if compression else None
        # Packing further ahead than one chunk per sender would only take more disk for spill files.
        in_flight = threading.Semaphore(min(self.settings.max_runners, self.settings.max_connections + 1))
        with concurrent.futures.ThreadPoolExecutor(
            self.settings.max_connections, thread_name_prefix="upload"
        ) as senders:
            try:
                while todo and not self._stopping():
                    chunk = todo.pop()
                    while not in_flight.acquire(timeout=0.2):
                        if self._stopping():
                            return
                    try:
                        if not _uncompressed(chunk):
                            with self._urls_lock:
                                key = self._urls.get(chunk.index, ("", ""))[0]
                            self._record(chunk, key, EMPTY, 0)
                            in_flight.release()
                            continue
                        key, url = self._url(chunk, todo)
                        packed = self._pack(packer, chunk) if packer is not None else None
                    except BaseException as error:
                        in_flight.release()
                        self._fail(_chunk_error(chunk, error))
                        return
                    senders.submit(self._send, chunk, key, url, packed, in_flight)
            finally:
                if self._error is not None or self.ctx.stop.is_set():
                    self._halt.set()

    def _pack(self, packer: zstandard.ZstdCompressor, chunk: Chunk) -> Packed:
        """Compress `chunk` into a spill file, hashing the compressed bytes on the way."""
        spill = tempfile.TemporaryFile(dir=self.places.meta, buffering=0)  # noqa: SIM115 - returned open
        try:
            digest = blake3.blake3()
            stream = packer.compressobj()
            size = 0
            for piece in self.reader.pieces(chunk.destinations):
                out = stream.compress(piece)
                if out:
                    digest.update(out)
                    _write_all(spill, out)
                    size += len(out)
                self.progress.advance(chunk.index, len(piece))
                if self._stopping():
                    raise Interrupted("upload interrupted")
            out = stream.flush()
            digest.update(out)
            _write_all(spill, out)
            size += len(out)
            return Packed(spill, size, Checksum.blake3(digest.digest()))
        except BaseException:
            spill.close()
            raise

    def _send(
        self, chunk: Chunk, key: str, url: str, packed: Packed | None, in_flight: threading.Semaphore
    ) -> None:
        """PUT one chunk (retrying, with a fresh URL when the server refused one) and record it."""
        try:
            retries = Retries(self.settings.max_retries, self.settings.backoff_base, self._halt)
            while True:
                if self._stopping():
                    raise Interrupted("upload interrupted")
                try:
                    if packed is not None:
                        self.transport.put(url, Body(packed.size, file=packed.file), self._halt)
                        checksum, size = packed.checksum, packed.size
                    else:
                        checksum, size = self._stream(chunk, url), _uncompressed(chunk)
                    break
                except TransferError as error:
                    retries.failed(error)
                    if error.refused:
                        self._assign_slots(self.blueprint.data_version, [chunk.index])
                        with self._urls_lock:
                            key, url = self._urls[chunk.index]
            self._record(chunk, key, checksum, size)
        except BaseException as error:
            self._fail(_chunk_error(chunk, error, key))
        finally:
            if packed is not None:
                packed.file.close()
            in_flight.release()

    def _stream(self, chunk: Chunk, url: str) -> Checksum:
        """PUT `chunk` uncompressed, straight from its files; its checksum."""
        digest = blake3.blake3()

        def pieces() -> Iterator[memoryview]:
            digest.reset()
            self.progress.restart(chunk.index)
            for piece in self.reader.pieces(chunk.destinations):
                digest.update(piece)
                yield piece
                self.progress.advance(chunk.index, len(piece))

        self.transport.put(url, Body(_uncompressed(chunk), pieces=pieces), self._halt)
        return Checksum.blake3(digest.digest())

    def _record(self, chunk: Chunk, key: str, checksum: Checksum, size: int) -> None:
        uploaded = Chunk(
            index=chunk.index, key=key, checksum=checksum, size=size, destinations=chunk.destinations
        )
        self.state.chunks.append(uploaded)
        self.done[chunk.index] = uploaded
        self.progress.done(chunk.index, _uncompressed(chunk))


def _uncompressed(chunk: Chunk) -> int:
    return sum(place.size for place in chunk.destinations)


def _chunk_error(chunk: Chunk, error: BaseException, key: str = "") -> BaseException:
    """`error` as the failure of `chunk` (an interruption stays what it is)."""
    if isinstance(error, Interrupted):
        return error
    kind = DataChangedError if isinstance(error, DataChangedError) else UploadError
    failed = kind(f"chunk '{key or chunk.index}' upload failed")
    failed.__cause__ = error
    return failed


def upload_job(ctx: JobContext, settings: Settings | None = None) -> None:
    """One attempt at the upload job of `ctx`: returns once the manifest is handed in, raises on failure."""
    options = ctx.config.job_type.data
    Upload(ctx, (settings or Settings()).with_options(options)).run()
