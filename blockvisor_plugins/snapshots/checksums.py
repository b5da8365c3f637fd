"""Chunk checksums (spec §5): SHA-1, SHA-256 or BLAKE3 over a chunk's stored (compressed) bytes.

Downloads verify whichever digest the chunk declares; uploads always write BLAKE3.
"""

import hashlib
from typing import Protocol

import blake3

from babel_api.archive import Checksum


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> object: ...

    def digest(self) -> bytes: ...


def hasher(kind: str) -> Hasher:
    """A fresh hasher for checksums of `kind` (`sha1`, `sha256`, `blake3`)."""
    if kind == "blake3":
        return blake3.blake3()
    return hashlib.new(kind)


def blake3_of(data: bytes) -> Checksum:
    return Checksum.blake3(blake3.blake3(data).digest())


#: What a chunk without stored bytes (only empty files) declares.
EMPTY = blake3_of(b"")
