"""Checking a download manifest as its chunks arrive in batches: every destination stays inside the
data folder, and no two pieces write the same byte of the same file.

Overlapping destinations would let one chunk silently overwrite another's data (and a hostile
manifest hide a file's real content), so they are refused, within a chunk and across chunks.
"""

import bisect
import itertools

from babel_api.archive import Chunk

from .folder import is_folder, relative


class ManifestError(ValueError):
    """A manifest (or a chunk of it) that cannot be downloaded as it is."""


class Claims:
    """The byte ranges of files claimed by the chunks seen so far, and their total."""

    def __init__(self, total_size: int) -> None:
        self._total_size = total_size
        self._claimed = 0
        self._ranges: dict[str, list[tuple[int, int, int]]] = {}
        self._chunks: dict[int, Chunk] = {}

    def add(self, chunk: Chunk) -> None:
        """Claim `chunk`'s destinations, or raise `ManifestError` / `UnsafePathError` and claim nothing."""
        known = self._chunks.get(chunk.index)
        if known is not None:
            if known.destinations != chunk.destinations:
                raise ManifestError(f"chunk {chunk.index} changed its destinations between two requests")
            return
        if not chunk.destinations:
            raise ManifestError("corrupted manifest - expected at least one destination file in chunk")
        added: dict[str, list[tuple[int, int, int]]] = {}
        for place in chunk.destinations:
            path = relative(place.path)
            if is_folder(path) and place.size:
                raise ManifestError(
                    f"chunk '{chunk.key}': folder destination {path!r} with {place.size} bytes"
                )
            if place.size:
                added.setdefault(path, []).append((place.pos, place.pos + place.size, chunk.index))
        for path, pieces in added.items():
            pieces.sort()
            for (_, end, _), (start, _, _) in itertools.pairwise(pieces):
                if start < end:
                    raise ManifestError(
                        f"overlapping destinations: chunk {chunk.index} writes bytes {start}..{end} "
                        f"of {path!r} twice"
                    )
            ranges = self._ranges.get(path, [])
            for start, end, _ in pieces:
                at = bisect.bisect_left(ranges, (start, end, -1))
                for other_start, other_end, index in ranges[max(at - 1, 0) : at + 1]:
                    if start < other_end and other_start < end:
                        raise ManifestError(
                            f"overlapping destinations: chunk {chunk.index} and chunk {index} both write "
                            f"bytes {max(start, other_start)}..{min(end, other_end)} of {path!r}"
                        )
        size = sum(place.size for place in chunk.destinations)
        if self._claimed + size > self._total_size:
            raise ManifestError(
                f"invalid download manifest - chunks claim more than total_size {self._total_size} bytes"
            )
        for path, pieces in added.items():
            for piece in pieces:
                bisect.insort(self._ranges.setdefault(path, []), piece)
        self._claimed += size
        self._chunks[chunk.index] = chunk
