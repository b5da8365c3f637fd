"""A folder of this machine as an archive store, for a single host: `{"kind": "local", "path": "/abs"}`.

Its URLs are `file://` URLs of the objects' paths, which the transfer jobs read and write with the
same code as HTTP ones; they do not expire.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from blockvisor_core.files import write_atomic

from . import check_key, config_field


class LocalStore:
    """Objects as files below `root`; a key's `/` separates folders."""

    def __init__(self, root: Path) -> None:
        if not root.is_absolute():
            raise ValueError(
                f"archive store 'local': store.path: expected an absolute path, got {str(root)!r}"
            )
        self.root = root

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "LocalStore":
        return cls(Path(config_field(config, "path")))

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def presign_get(self, key: str, expires_secs: int) -> str:
        return self._path(key).as_uri()

    def presign_put(self, key: str, expires_secs: int) -> str:
        return self._path(key).as_uri()

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        write_atomic(self._path(key), data)

    def folders(self, prefix: str) -> list[str]:
        try:
            with os.scandir(self._path(prefix)) as entries:
                return [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []
