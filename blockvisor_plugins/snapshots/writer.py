"""Writing a chunk's decoded bytes into its files (spec §3.6, §3.7), with the original's gaps closed.

A chunk's decoded stream is the concatenation of its destinations, in order. Each piece goes to its
file at its offset with `pwrite`, so the chunks of one download write in parallel, each from its own
thread. The disk starts writing as pieces arrive, and every file piece is synced (`fdatasync`) before
the chunk is finished, so a chunk recorded as done is on disk (the original never synced). The syncs
of a chunk's files run together, a batch at a time on a shared pool of threads: one after another,
a chunk of thousands of small files would wait for the disk once per file. Only the job's own files
are synced: a filesystem-wide sync would also wait for whatever else the host is writing.

Decoded data longer or shorter than the destinations is an error (the original ignored short data).
A file is truncated the first time this download writes it, unless chunks already completed wrote
it, so a stale longer file never keeps trailing bytes.
"""

import concurrent.futures
import os
import threading
from collections.abc import Iterable

from babel_api.archive import FileLocation

from .folder import DataFolder, is_folder, relative, start_writeback


class WriterError(Exception):
    """Writing the data folder failed (permissions, space, ...): trying the chunk again will not help."""


class CorruptChunkError(Exception):
    """A chunk's bytes do not match its description (checksum, size, encoding): fetch it again."""


class Touched:
    """The files of one download that may not be truncated any more: those written by chunks completed
    in earlier attempts, and those this attempt already opened."""

    def __init__(self, completed: Iterable[str]) -> None:
        self._paths = set(completed)
        self._lock = threading.Lock()

    def open(self, folder: DataFolder, path: str) -> int:
        with self._lock:
            fd = folder.open_write(path, truncate=path not in self._paths)
            self._paths.add(path)
            return fd


#: Completed files of a chunk kept open until they are synced together.
SYNC_BATCH = 32


class ChunkWriter:
    """A sink for one chunk's decoded bytes: `write` pieces in order, then `finish`, then `close`.
    `syncer` runs the `fdatasync` calls."""

    def __init__(
        self,
        folder: DataFolder,
        touched: Touched,
        destinations: list[FileLocation],
        syncer: concurrent.futures.Executor,
    ) -> None:
        self._folder = folder
        self._touched = touched
        self._syncer = syncer
        self._unsynced: list[int] = []
        self._destinations = [
            FileLocation(relative(place.path), place.pos, place.size) for place in destinations
        ]
        self._declared = sum(place.size for place in destinations)
        self._next = 0
        self._fd = -1
        self._pos = 0
        self._left = 0
        self.written = 0

    def _advance(self) -> bool:
        """Move to the next destination that takes bytes, creating the empty ones on the way."""
        self._complete_file()
        while self._next < len(self._destinations):
            place = self._destinations[self._next]
            self._next += 1
            try:
                if is_folder(place.path):
                    self._folder.make_folder(place.path)
                    continue
                fd = self._touched.open(self._folder, place.path)
            except OSError as error:
                raise WriterError(f"Writer error: {place.path}") from error
            if place.size:
                self._fd, self._pos, self._left = fd, place.pos, place.size
                return True
            os.close(fd)
        return False

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            if not self._left and not self._advance():
                raise CorruptChunkError(
                    f"(decompressed) chunk size doesn't match expected one: more than {self._declared} bytes"
                )
            piece = view[: self._left]
            try:
                start = self._pos
                while piece:
                    count = os.pwrite(self._fd, piece, self._pos)
                    piece = piece[count:]
                    self._pos += count
                    self._left -= count
                    view = view[count:]
                    self.written += count
                start_writeback(self._fd, start, self._pos - start)
            except OSError as error:
                raise WriterError("Writer error") from error
            if not self._left:
                self._advance()
        return total

    def finish(self) -> None:
        """All bytes are in: create the trailing empty files, fail if bytes are missing, sync the files."""
        if not self._left:
            self._advance()
        if self._left or self._next < len(self._destinations):
            raise CorruptChunkError(
                f"(decompressed) chunk size doesn't match expected one: "
                f"{self.written} bytes of {self._declared} declared"
            )
        self._sync()

    def _complete_file(self) -> None:
        """The current file piece is written whole: it waits for the next batch of syncs."""
        if self._fd >= 0:
            self._unsynced.append(self._fd)
            self._fd = -1
            if len(self._unsynced) >= SYNC_BATCH:
                self._sync()

    def _sync(self) -> None:
        fds, self._unsynced = self._unsynced, []
        try:
            for done in concurrent.futures.as_completed(
                [self._syncer.submit(os.fdatasync, fd) for fd in fds]
            ):
                done.result()
        except OSError as error:
            raise WriterError("Writer error") from error
        finally:
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        for fd in [self._fd, *self._unsynced]:
            if fd >= 0:
                os.close(fd)
        self._fd = -1
        self._unsynced = []
