"""A node's own root file system folder, made from a folder, a tarball, or a view of the host's system.

Every node gets a private, writable copy, like Apptainer's writable sandbox: what a node writes never
reaches the image it was made from nor another node. The copy is built beside its place and renamed
into it, so a failure (a bad tarball) leaves nothing behind. No device node is ever kept: the sandbox
mounts its own minimal /dev, and a device file elsewhere in the root (`/tmp/sda`) would otherwise open
the host's disks to the node.
"""

import logging
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

log = logging.getLogger(__name__)

#: The host's system folders a host-view root shows read-only. Folders that are links on the host
#: (`/bin` -> `usr/bin` on merged-/usr systems) become the same links in the node's root.
HOST_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")

#: Host files and folders under /etc that a host-view root shows read-only: what programs need to run
#: (the dynamic linker's cache, alternatives, certificates, name service, time zone, Python's config),
#: not the host's accounts, keys or service configuration.
HOST_ETC = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "host.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "protocols",
    "python3",
    "python3.11",
    "python3.12",
    "python3.13",
    "resolv.conf",
    "services",
    "ssl/certs",
)

#: The writable folders of a host-view root (the node's own), with their modes.
HOST_VIEW_FOLDERS = {
    "etc": 0o755,
    "root": 0o700,
    "home": 0o755,
    "tmp": 0o1777,
    "var/tmp": 0o1777,
    "run": 0o755,
}


class RootfsError(ValueError):
    """A root file system source that cannot be used (missing, not a folder or tarball, unsafe)."""


def prepare(target: Path, source: Path | None, extra_folders: tuple[str, ...] = ()) -> str:
    """Make the node's root at `target` from `source` (a folder, a tarball, or None for a host view);
    also create `extra_folders` (node paths) in it. Returns the kind: `folder`, `tarball` or `host`."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        if source is None:
            kind = "host"
            _host_view(partial)
        elif source.is_dir():
            kind = "folder"
            _copy_folder(source, partial)
        elif source.is_file():
            kind = "tarball"
            extract_tarball(source, partial)
        else:
            raise RootfsError(f"rootfs {source}: no such folder or tarball")
        _remove_devices(partial)
        for folder in extra_folders:
            _make_folder(partial, folder)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return kind


def _make_folder(root: Path, node_path: str) -> None:
    """Create the folder `node_path` in `root`, replacing any link on the way: a mount point the
    runtime needs (`/blockjoy`) must not lead elsewhere, least of all out of the root."""
    path = root
    for part in Path(node_path.strip("/")).parts:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        path.mkdir(exist_ok=True)


def remove(target: Path) -> None:
    shutil.rmtree(target.with_name(target.name + ".partial"), ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)


def _copy_folder(source: Path, target: Path) -> None:
    # `cp -a` keeps owners, modes, links, hard links, sparse files and extended attributes, and
    # shares blocks where the file system can (`--reflink=auto`).
    result = subprocess.run(
        ["cp", "-a", "--reflink=auto", "--", f"{source}/.", str(target)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RootfsError(f"rootfs {source}: cannot copy it: {result.stderr.strip()}")


def extract_tarball(source: Path, target: Path) -> None:
    """Extract `source` into `target` with owners and modes, refusing members that would land outside."""
    target.mkdir(parents=True)
    try:
        with tarfile.open(source) as archive:
            archive.errorlevel = 1
            archive.extractall(target, numeric_owner=True, filter=_safe_member)
    except tarfile.FilterError as error:
        raise RootfsError(f"rootfs {source}: refused: {error}") from None
    except tarfile.TarError as error:
        raise RootfsError(f"rootfs {source}: not a readable tarball: {error}") from None


def _safe_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """Python's `tar` filter refuses names that end outside `dest` once links already written are
    followed; hard links must name a member inside too. Modes are kept whole (setuid programs, /tmp's
    sticky bit): a root file system needs them, and the `tar` filter would strip them."""
    if member.ischr() or member.isblk():
        log.info("rootfs: skipping the device node %s", member.name)
        return None
    checked = tarfile.tar_filter(member, dest)
    if member.islnk():
        # Resolved as tarfile links it: an absolute name is a host path.
        link = os.path.realpath(os.path.join(dest, member.linkname))
        if os.path.commonpath([link, os.path.realpath(dest)]) != os.path.realpath(dest):
            raise tarfile.LinkOutsideDestinationError(member, link)
    return checked.replace(mode=member.mode, deep=False)


def _remove_devices(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                log.info("rootfs: removing the device node %s", path)
                os.unlink(path)


def _host_view(target: Path) -> None:
    """The writable skeleton of a host-view root: the node's own /etc, /root, /tmp, /var, /run, and the
    host's merged-/usr links. The host's system folders are mounted over it when the node starts."""
    target.mkdir(parents=True)
    for name in HOST_SYSTEM:
        host = Path("/") / name
        if host.is_symlink():
            (target / name).symlink_to(os.readlink(host))
        elif host.is_dir():
            (target / name).mkdir()
    for folder, mode in HOST_VIEW_FOLDERS.items():
        (target / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(target / folder, mode)
    (target / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (target / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (target / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")


def host_view_binds() -> list[str]:
    """The bwrap arguments that show the host's system folders and selected /etc files read-only."""
    args: list[str] = []
    for name in HOST_SYSTEM:
        host = Path("/") / name
        if host.is_dir() and not host.is_symlink():
            args += ["--ro-bind", str(host), str(host)]
    for name in HOST_ETC:
        host = Path("/etc") / name
        if host.exists():
            args += ["--ro-bind", str(host), str(host)]
    return args
