"""What an upload takes from the data folder (spec §4.2), with the original's gaps closed.

Regular files are taken with their sizes, and so are empty folders (as `name/`, size 0), which the
original lost; a folder emptied only by exclusions is left out with what it held. Symbolic links are
skipped: following one could read outside the node (a link to a host file) or store a file twice,
and the manifest has no way to say "link"; they are reported. Sockets, FIFOs and devices are skipped
too. An exclude pattern that matches a folder does not prune it: what is below is tested on its own,
as in the original.
"""

import logging
import os
import stat
from pathlib import Path

import attrs

from .globs import Exclude

log = logging.getLogger(__name__)


class ScanError(OSError):
    """The data folder could not be read whole."""


@attrs.frozen
class Source:
    """A file (or empty folder, `path` ending with `/`) to upload; `path` is relative to the data folder."""

    path: str
    size: int


def sort_key(path: str) -> list[bytes]:
    """Order of paths component by component, as the original's (`d1/b` < `d1.txt`)."""
    return [os.fsencode(part) for part in path.rstrip("/").split("/")]


def scan(root: Path, exclude: Exclude, skip: Path | None = None) -> list[Source]:
    """The files and empty folders below `root`, sorted by `sort_key`; `skip`: a folder left out whole
    (the jobs' own state, when it lies inside the data folder)."""
    if not root.is_dir():
        raise ScanError(f"can't read the data folder {root}: no such folder")
    sources: list[Source] = []
    links: list[str] = []

    def walk(folder: Path, prefix: str) -> tuple[bool, bool]:
        """Add what `folder` holds: whether anything was added, whether anything was excluded."""
        try:
            with os.scandir(folder) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except OSError as error:
            raise ScanError(f"can't read {folder}") from error
        added = excluded = False
        for entry in entries:
            path = prefix + entry.name
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    links.append(path)
                elif stat.S_ISDIR(mode):
                    if skip is not None and Path(entry.path) == skip:
                        continue
                    inner, inner_excluded = walk(Path(entry.path), path + "/")
                    if not inner and not inner_excluded:
                        if exclude.matches(path):
                            inner_excluded = True
                        else:
                            sources.append(Source(path + "/", 0))
                            inner = True
                    added |= inner
                    excluded |= inner_excluded
                elif stat.S_ISREG(mode):
                    if exclude.matches(path):
                        excluded = True
                    else:
                        sources.append(Source(path, entry.stat(follow_symlinks=False).st_size))
                        added = True
            except OSError as error:
                raise ScanError(f"can't read {entry.path}") from error
        return added, excluded

    walk(root, "")
    if links:
        log.warning(
            "%d symbolic link(s) not uploaded (a manifest holds files only), e.g. %s", len(links), links[:5]
        )
    return sorted(sources, key=lambda source: sort_key(source.path))
