"""Where archives live: an object store that hands out presigned URLs, as plugins provide it.

A store knows nothing of manifests or versions: it names objects by key (`a/b/c`), reads and writes
small ones, lists the folders under a prefix, and presigns GET and PUT URLs for the big ones, which the
transfer jobs use directly. The archive (`ArchiveApi`) is built on top of it.
"""

from typing import Protocol


class ArchiveStore(Protocol):
    """An object store holding archives: S3-compatible storage, a local folder, ..."""

    def presign_get(self, key: str, expires_secs: int) -> str:
        """A URL that reads object `key` (ranged GETs allowed) for the next `expires_secs` seconds."""

    def presign_put(self, key: str, expires_secs: int) -> str:
        """A URL that creates or replaces object `key` with one PUT, for the next `expires_secs` seconds."""

    def read(self, key: str) -> bytes | None:
        """The whole content of the small object `key`; None when there is no such object."""

    def write(self, key: str, data: bytes) -> None:
        """Create or replace the small object `key`; readers see the old content or the new, whole."""

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders right under `prefix` (`a/b` lists `c` for `a/b/c/x`), in any order."""
