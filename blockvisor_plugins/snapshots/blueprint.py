"""Laying files out into chunks (spec §4.3, §4.4), as the original does, minus its data loss.

Files are sorted by path and consumed from the end; each chunk takes `total / chunks` bytes (the
last one the remainder too), a big file spanning several chunks and small files sharing one. Empty
files (and folders) join the chunk being filled. A chunk count larger than the data is clamped, so
that no chunk is empty and no byte dropped (the original dropped data there).
"""

from babel_api.archive import Checksum, Chunk, DownloadManifest, FileLocation
from babel_api.models import Compression

from .sources import Source

#: A blueprint chunk not uploaded yet carries this checksum (the original's placeholder).
PLACEHOLDER = Checksum.sha1(bytes(20))


class LayoutError(ValueError):
    """A layout that cannot be made (e.g. zero chunks asked for)."""


def chunk_count(total_size: int, number_of_chunks: int | None, target: int) -> int:
    """The job's chunk count (None: one per `target` bytes, plus one), at most one per byte."""
    if number_of_chunks == 0:
        raise LayoutError("invalid number of chunks - need at least one")
    count = 1 + total_size // target if number_of_chunks is None else number_of_chunks
    return max(1, min(count, total_size))


def build_destinations(sources: list[FileLocation], size: int) -> list[FileLocation]:
    """Take pieces of `size` bytes in all from the end of `sources` (which shrinks accordingly)."""
    destinations = []
    taken = 0
    while taken <= size and sources:
        last = sources[-1]
        if taken >= size and last.size:
            break
        count = min(last.size, size - taken)
        destinations.append(FileLocation(last.path, last.pos, count))
        taken += count
        if count == last.size:
            sources.pop()
        else:
            sources[-1] = FileLocation(last.path, last.pos + count, last.size - count)
    return destinations


def lay_out(
    sources: list[Source], chunks: int, compression: Compression | None, base: str
) -> DownloadManifest:
    """The blueprint manifest of `sources` (sorted) in `chunks` chunks; paths are `base/path`."""
    total = sum(source.size for source in sources)
    stack = [FileLocation(f"{base}/{source.path}", 0, source.size) for source in sources]
    chunk_size, remainder = divmod(total, chunks)
    laid_out = []
    for index in range(chunks):
        destinations = build_destinations(stack, chunk_size + (remainder if index == chunks - 1 else 0))
        if not destinations:
            break
        laid_out.append(Chunk(index=index, key="", checksum=PLACEHOLDER, size=0, destinations=destinations))
    return DownloadManifest(total_size=total, compression=compression, chunks=laid_out)
