"""The archive of a node's protocol data as the transfer jobs and the API exchange it (spec §5.8).

An archive is a list of chunks; each chunk is one object in the store (compressed, checksummed) whose
decompressed bytes fill a run of file pieces. Uploads ask for slots (pre-signed URLs) to put chunks into.
Same JSON shapes as the original, converted with `from_json` / `to_json` like every Babel API class.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import attrs

from babel_api.models import Compression
from babel_api.shapes import JsonShape, Length, UInt32, UInt64, valid_variant

_DIGEST_SIZES = {"sha1": 20, "sha256": 32, "blake3": 32}


@attrs.frozen
class FileLocation(JsonShape):
    """A piece of a file: `size` uncompressed bytes at offset `pos` of `path` (relative to the data dir)."""

    path: str
    pos: UInt64
    size: UInt64


def _digest_size(instance: Checksum, attribute: attrs.Attribute, digest: bytes) -> None:
    expected = _DIGEST_SIZES.get(instance.kind)
    if expected is not None and len(digest) != expected:
        raise ValueError(f"a {instance.kind} digest has {expected} bytes, got {len(digest)}")


@attrs.frozen
class Checksum(JsonShape):
    """Digest of a chunk's stored bytes: `{"sha1": [20 bytes]}` | `{"sha256": [32]}` | `{"blake3": [32]}`."""

    VARIANTS: ClassVar = {kind: Annotated[bytes, Length(size)] for kind, size in _DIGEST_SIZES.items()}

    kind: str = attrs.field(validator=valid_variant)
    digest: bytes = attrs.field(validator=_digest_size)

    @classmethod
    def sha1(cls, digest: bytes) -> Checksum:
        return cls("sha1", digest)

    @classmethod
    def sha256(cls, digest: bytes) -> Checksum:
        return cls("sha256", digest)

    @classmethod
    def blake3(cls, digest: bytes) -> Checksum:
        return cls("blake3", digest)


@attrs.frozen(kw_only=True)
class Chunk(JsonShape):
    """One stored object: its persistent `key`, pre-signed `url` (absent in blueprints), checksum, stored
    `size`, and the file pieces its decompressed bytes are written to, in order."""

    index: UInt32
    key: str
    url: str | None = None
    checksum: Checksum
    size: UInt64
    destinations: list[FileLocation]


@attrs.frozen(kw_only=True, repr=False)
class DownloadManifest(JsonShape):
    """A whole archive: uncompressed `total_size`, compression (absent: none) and every chunk."""

    total_size: UInt64
    compression: Compression | None = None
    chunks: list[Chunk]

    def __repr__(self) -> str:
        # Manifests hold thousands of chunks; show the first one only, as the original does.
        first = f"{self.chunks[0]!r}, ..." if self.chunks else ""
        return (
            f"DownloadManifest(total_size={self.total_size!r}, compression={self.compression!r}, "
            f"chunks=[{first}] ({len(self.chunks)} chunks))"
        )


@attrs.frozen(kw_only=True)
class DownloadMetadata(JsonShape):
    """The header of an archive: sizes, compression, number of chunks and data version (chunks are fetched
    in batches, never all at once)."""

    total_size: UInt64
    compression: Compression | None = None
    chunks: UInt32
    data_version: UInt64


@attrs.frozen
class Slot(JsonShape):
    """Where to upload chunk `index`: its persistent `key` and pre-signed `url`."""

    index: UInt32
    key: str
    url: str


def _at_least_one_slot(instance: UploadSlots, attribute: attrs.Attribute, slots: list[Slot]) -> None:
    if not slots:
        raise ValueError("corrupted manifest - expected at least one slot")


@attrs.frozen
class UploadSlots(JsonShape):
    """The slots granted for an upload of `data_version`; never empty."""

    slots: list[Slot] = attrs.field(validator=_at_least_one_slot)
    data_version: UInt64
