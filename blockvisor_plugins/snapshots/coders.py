"""zstd as the transfer jobs use it: streaming frames without a content size (spec §5).

Output is produced piece by piece, never a whole chunk at once, so memory stays bounded whatever the
chunk size. A compressor with worker threads (`threads` > 0) compresses one chunk on every core while
the calling thread reads the next piece; its frames differ in bytes from a single-threaded one but
decode the same.
"""

from typing import Protocol

import zstandard

from babel_api.models import Compression


class Sink(Protocol):
    """Where decoded bytes go, piece after piece."""

    def write(self, data: bytes | memoryview, /) -> int: ...


def compressor(compression: Compression, threads: int) -> zstandard.ZstdCompressor:
    """The compressor of a job: reuse it chunk after chunk (one `compressobj()` per chunk), from one
    thread at a time."""
    if compression.kind != "ZSTD" or compression.level is None:
        raise ValueError(f"unsupported compression {compression.to_json()}")
    return zstandard.ZstdCompressor(level=compression.level, threads=threads)


def decoder(compression: Compression | None, sink: Sink, piece_size: int) -> Sink:
    """A sink taking a chunk's stored bytes and handing its decoded bytes to `sink`, at most
    `piece_size` at a time. Stored bytes of no more than one frame's worth are buffered inside zstd."""
    if compression is None:
        return sink
    if compression.kind != "ZSTD":
        raise ValueError(f"unsupported compression {compression.to_json()}")
    return zstandard.ZstdDecompressor().stream_writer(
        sink, write_size=piece_size, write_return_read=True, closefd=False
    )
