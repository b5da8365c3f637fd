"""A node's root from a folder or a tarball: a private copy, nothing written outside, no device nodes."""

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from blockvisor_plugins.runtimes import rootfs
from blockvisor_plugins.runtimes.rootfs import RootfsError


def tarball(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w") as archive:
        for member, data in members:
            if data is not None:
                member.size = len(data)
            archive.addfile(member, io.BytesIO(data) if data is not None else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname, member.mode = kind, linkname, mode
    return member


def test_modes_owners_and_links_are_kept(tmp_path):
    source = tarball(
        tmp_path / "root.tar",
        (entry("tmp", tarfile.DIRTYPE, mode=0o1777), None),
        (entry("usr/bin/tool", mode=0o4755), b"#!/bin/sh\n"),
        (entry("bin", tarfile.SYMTYPE, linkname="usr/bin"), None),
        (entry("etc/alternatives/awk", tarfile.SYMTYPE, linkname="/usr/bin/mawk"), None),
        (entry("usr/bin/tool-again", tarfile.LNKTYPE, linkname="usr/bin/tool", mode=0o4755), None),
    )
    target = tmp_path / "node/rootfs"
    assert rootfs.prepare(target, source) == "tarball"
    assert stat.S_IMODE((target / "tmp").stat().st_mode) == 0o1777
    assert stat.S_IMODE((target / "usr/bin/tool").stat().st_mode) == 0o4755
    assert os.readlink(target / "bin") == "usr/bin"
    # An absolute link is the node's business: it points into the node's root once inside.
    assert os.readlink(target / "etc/alternatives/awk") == "/usr/bin/mawk"
    assert (target / "usr/bin/tool-again").stat().st_ino == (target / "usr/bin/tool").stat().st_ino


@pytest.mark.parametrize(
    "members",
    [
        [(entry("../escaped"), b"x")],
        [(entry("a/../../escaped"), b"x")],
        # A link to the outside, then a member through it.
        [(entry("door", tarfile.SYMTYPE, linkname="../.."), None), (entry("door/escaped"), b"x")],
        [(entry("door", tarfile.SYMTYPE, linkname="/tmp"), None), (entry("door/escaped"), b"x")],
        # Hard links to files outside, relative and absolute.
        [(entry("passwd", tarfile.LNKTYPE, linkname="../../outside"), None)],
        [(entry("passwd", tarfile.LNKTYPE, linkname="/etc/passwd"), None)],
    ],
    ids=[
        "dot-dot",
        "nested-dot-dot",
        "through-relative-link",
        "through-absolute-link",
        "hardlink",
        "hardlink-abs",
    ],
)
def test_members_that_leave_the_root_are_refused(tmp_path, members):
    (tmp_path / "outside").write_text("host file")
    source = tarball(tmp_path / "evil.tar", *members)
    target = tmp_path / "node/rootfs"
    with pytest.raises(RootfsError, match="refused"):
        rootfs.prepare(target, source)
    assert not target.exists() and not target.with_name("rootfs.partial").exists()
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped").exists()
    assert (tmp_path / "outside").stat().st_nlink == 1


def test_device_nodes_are_dropped(tmp_path):
    device = entry("tmp/disk", tarfile.BLKTYPE, mode=0o666)
    device.devmajor, device.devminor = 8, 0
    source = tarball(tmp_path / "root.tar", (device, None), (entry("etc/hostname"), b"node\n"))
    target = tmp_path / "rootfs"
    rootfs.prepare(target, source)
    assert (target / "etc/hostname").read_text() == "node\n"
    assert not (target / "tmp/disk").exists()


def test_a_folder_is_copied_and_a_missing_source_refused(tmp_path):
    image = tmp_path / "image"
    (image / "etc").mkdir(parents=True)
    (image / "etc/hostname").write_text("image\n")
    (image / "bin").symlink_to("usr/bin")
    target = tmp_path / "rootfs"
    assert rootfs.prepare(target, image, ("/blockjoy",)) == "folder"
    assert (target / "etc/hostname").read_text() == "image\n"
    assert os.readlink(target / "bin") == "usr/bin"
    assert (target / "blockjoy").is_dir()
    (target / "etc/hostname").write_text("node\n")
    assert (image / "etc/hostname").read_text() == "image\n"
    with pytest.raises(RootfsError, match="no such folder or tarball"):
        rootfs.prepare(tmp_path / "other", tmp_path / "missing")


def test_a_corrupt_tarball_is_refused(tmp_path):
    source = tmp_path / "bad.tar.gz"
    source.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(RootfsError, match="not a readable tarball"):
        rootfs.prepare(tmp_path / "rootfs", source)
    assert not (tmp_path / "rootfs").exists()


def test_the_host_view_is_a_skeleton_of_the_nodes_own(tmp_path):
    target = tmp_path / "rootfs"
    assert rootfs.prepare(target, None) == "host"
    assert stat.S_IMODE((target / "tmp").stat().st_mode) == 0o1777
    assert "root:x:0:0" in (target / "etc/passwd").read_text()
    assert not (target / "etc/shadow").exists()
    binds = rootfs.host_view_binds()
    assert "/etc/shadow" not in binds and "/root" not in binds and "/home" not in binds
    if Path("/bin").is_symlink():
        assert os.readlink(target / "bin") == os.readlink("/bin")


def test_a_mount_point_that_is_a_link_is_replaced_by_a_folder(tmp_path):
    source = tarball(tmp_path / "root.tar", (entry("blockjoy", tarfile.SYMTYPE, linkname="/etc"), None))
    target = tmp_path / "rootfs"
    rootfs.prepare(target, source, ("/blockjoy",))
    assert (target / "blockjoy").is_dir() and not (target / "blockjoy").is_symlink()
