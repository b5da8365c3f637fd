"""The data folder as the transfer jobs touch it: every path stays beneath it, whatever a manifest says.

Paths come from manifests and state files, i.e. from outside: they are checked (relative, no `..`)
and then opened one component at a time from the folder's own descriptor with `O_NOFOLLOW`, so that
neither `..` nor a symbolic link anywhere on the way (placed before the job started or while it runs)
leads a read, write, removal or time change outside the folder.

A manifest path that ends with `/` names a folder (an empty folder kept by the upload).
"""

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, count: int) -> None:
    """Have the kernel start writing these bytes to disk now, without waiting for them.

    Otherwise a machine with plenty of memory keeps gigabytes dirty until the sync that completes a
    file, and the disk idles while the network works, then the network while the disk works.
    """
    _libc.sync_file_range(fd, offset, count, _SYNC_FILE_RANGE_WRITE)


class UnsafePathError(ValueError):
    """A path that would leave the data folder, or go through a symbolic link."""


def relative(path: str) -> str:
    """`path` in its plain form (`a/b`, `a/b/` for a folder), or `UnsafePathError` if it leaves the folder."""
    if not path or "\0" in path:
        raise UnsafePathError(f"path {path!r}: not a path")
    if path.startswith("/"):
        raise UnsafePathError(f"path {path!r}: an absolute path leaves the data folder")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(f"path {path!r}: '..' leaves the data folder")
    if not parts:
        raise UnsafePathError(f"path {path!r}: names the data folder itself")
    return "/".join(parts) + ("/" if path.endswith("/") else "")


def is_folder(path: str) -> bool:
    return path.endswith("/")


class DataFolder:
    """A folder opened once; files beneath it are reached only through `relative` paths."""

    def __init__(self, root: Path, create: bool = True) -> None:
        if create:
            root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self._fd = os.open(root, _DIRECTORY)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> "DataFolder":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _parent(self, path: str, create: bool) -> Iterator[tuple[int, str]]:
        """The descriptor of the folder holding `path` and the last name of `path`."""
        *folders, name = relative(path).rstrip("/").split("/")
        fd = os.dup(self._fd)
        try:
            for index, folder in enumerate(folders):
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(folder, 0o755, dir_fd=fd)
                try:
                    inner = os.open(folder, _DIRECTORY, dir_fd=fd)
                except OSError as error:
                    if error.errno in (errno.ELOOP, errno.ENOTDIR):
                        where = "/".join(folders[: index + 1])
                        raise UnsafePathError(
                            f"path {path!r}: {where!r} is a symbolic link or not a folder"
                        ) from None
                    raise
                os.close(fd)
                fd = inner
            yield fd, name
        finally:
            os.close(fd)

    def _open(self, path: str, flags: int, create: bool) -> int:
        with self._parent(path, create) as (parent, name):
            try:
                return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=parent)
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise UnsafePathError(f"path {path!r} is a symbolic link") from None
                raise

    def open_write(self, path: str, truncate: bool) -> int:
        """A descriptor to write file `path` at any offset, creating it and its folders as needed."""
        return self._open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else 0), create=True)

    def open_read(self, path: str) -> int:
        return self._open(path, os.O_RDONLY, create=False)

    def make_folder(self, path: str) -> None:
        with self._parent(path, create=True) as (parent, name):
            try:
                os.mkdir(name, 0o755, dir_fd=parent)
            except FileExistsError:
                try:
                    os.close(os.open(name, _DIRECTORY, dir_fd=parent))
                except OSError as error:
                    if error.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UnsafePathError(f"path {path!r} is a symbolic link or not a folder") from None
                    raise

    def remove(self, path: str) -> None:
        """Remove file `path` (or empty folder `path/`); a missing one is no error."""
        try:
            with self._parent(path, create=False) as (parent, name):
                if is_folder(path):
                    os.rmdir(name, dir_fd=parent)
                else:
                    os.unlink(name, dir_fd=parent)
        except FileNotFoundError:
            pass
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EISDIR):
                raise

    def set_times(self, path: str, nanos: int) -> None:
        """Set the access and modification time of `path` (never of what a link points to)."""
        with self._parent(path, create=False) as (parent, name):
            os.utime(name, ns=(nanos, nanos), dir_fd=parent, follow_symlinks=False)

    def free_space(self) -> int:
        stats = os.fstatvfs(self._fd)
        return stats.f_bavail * stats.f_frsize
