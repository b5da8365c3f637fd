"""The archive stores this plugin provides: S3-compatible object storage and a local folder."""

from collections.abc import Mapping
from typing import Any


def config_field(config: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    """The string field `name` of a store config, or a `ValueError` naming it."""
    value = config.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"archive store {config.get('kind')!r}: store.{name}: expected a non-empty string")
    return value


def check_key(key: str) -> str:
    """An object key: relative, `/`-separated names, no `.` or `..` (so a folder store stays inside)."""
    parts = key.split("/")
    if not key or any(part in ("", ".", "..") for part in parts) or "\0" in key:
        raise ValueError(f"invalid object key {key!r}")
    return key
