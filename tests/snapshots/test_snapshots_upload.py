"""The upload job against a real S3 server (spec §7.2, §7.10, §9): layout, objects, manifest, resume,
data that changes under it, refused URLs."""

import json
import os

import attrs
import pytest
from snapshot_support import (
    SMALL,
    STORE_KEY,
    RecordingArchive,
    blake3_checksum,
    fails_with,
    location,
    write_tree,
)

from babel_api.archive import Chunk, DownloadManifest
from babel_api.models import Compression, JobType
from blockvisor_plugins.snapshots.archive import BODY, HEADER
from blockvisor_plugins.snapshots.blueprint import lay_out
from blockvisor_plugins.snapshots.checksums import EMPTY
from blockvisor_plugins.snapshots.globs import Exclude
from blockvisor_plugins.snapshots.sources import scan
from blockvisor_plugins.snapshots.upload import upload_job

FIXTURE = {
    "empty_file": b"",
    "a": b"7 bytes",
    "d1/b": b"9   bytes",
    "d1/d2/c": b"333",
    "x": b"x" * 256,
    "sub_with_ignored/ignored_file": b"\x01" * 16,
}
OPTIONS = {"exclude": ["**/ignored_*"], "number_of_chunks": 3, "url_expires_secs": 60}


def run(node, archive=None, settings=SMALL, **options):
    upload_job(node.context(JobType.upload(**{**OPTIONS, **options}), archive), settings)


def published(store, version) -> tuple[dict, list[Chunk]]:
    header = json.loads(store.read(f"{STORE_KEY}/{version}/{HEADER}"))
    body = [Chunk.from_json(chunk) for chunk in json.loads(store.read(f"{STORE_KEY}/{version}/{BODY}"))]
    return header, body


def part(version, index):
    return f"{STORE_KEY}/{version}/data.part_{index}"


@pytest.fixture
def node(nodes):
    node = nodes()
    write_tree(node.data, FIXTURE)
    return node


def test_full_upload(node, store):
    archive = RecordingArchive(node.archive())
    run(node, archive)

    assert archive.named("get_upload_slots") == [("get_upload_slots", None, [0, 1, 2], 60)]
    assert archive.named("put_download_manifest") == [("put_download_manifest", 1)]
    assert store.read(part(1, 0)) == b"x" * 91
    assert store.read(part(1, 1)) == b"x" * 91
    assert store.read(part(1, 2)) == b"x" * 74 + b"333" + b"9   bytes" + b"7 bytes"
    header, body = published(store, 1)
    assert header == {"total_size": 275, "compression": None, "chunks": 3, "data_version": 1}
    assert [chunk.size for chunk in body] == [91, 91, 93]
    assert body[0].checksum == blake3_checksum(b"x" * 91)
    assert body[0].checksum.digest[:4] == bytes([0x77, 0xAF, 0x09, 0x04])
    assert body[2].checksum.digest[:4] == bytes([0x8C, 0x37, 0x0A, 0xC8])
    assert [chunk.key for chunk in body] == [part(1, i) for i in range(3)]
    assert body[2].destinations == [
        location("x", 182, 74),
        location("empty_file", 0, 0),
        location("d1/d2/c", 0, 3),
        location("d1/b", 0, 9),
        location("a", 0, 7),
    ]
    assert all(chunk.url is None for chunk in body)
    assert not (node.meta / "upload.blueprint").exists() and not (node.meta / "upload.chunks").exists()
    progress = node.progress()
    assert (progress["total"], progress["current"], progress["message"]) == (3, 3, "chunks")
    assert progress["bytes_total"] == progress["bytes_current"] == 275


def test_upload_with_compression_and_a_refused_url_replaced(node, store):
    refused = []

    def tamper(url):
        # The first URL of chunk 1 is broken, as an expired one would be; the next one is fine.
        if "data.part_1" in url and not refused:
            refused.append(url)
            return url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        return url

    archive = RecordingArchive(node.archive(), tamper)
    run(node, archive, attrs.evolve(SMALL, max_retries=1), compression=Compression.zstd(5))

    assert archive.named("get_upload_slots") == [
        ("get_upload_slots", None, [0, 1, 2], 60),
        ("get_upload_slots", 1, [1], 60),
    ]
    header, body = published(store, 1)
    assert header["compression"] == {"ZSTD": 5}
    assert [chunk.size for chunk in body] == [17, 17, 36]
    assert body[0].checksum.digest[:4] == bytes([0x35, 0x21, 0x9F, 0xAC])
    assert body[2].checksum.digest[:4] == bytes([0x22, 0x98, 0xF5, 0x6E])


def test_empty_upload_puts_nothing(nodes, store):
    node = nodes()
    write_tree(node.data, {"empty_file_1": b"", "empty_file_2": b""})
    run(node, number_of_chunks=None)
    header, body = published(store, 1)
    assert header["total_size"] == 0 and header["chunks"] == 1
    assert body[0].size == 0 and body[0].checksum == EMPTY
    assert body[0].destinations == [location("empty_file_2", 0, 0), location("empty_file_1", 0, 0)]
    assert store.read(part(1, 0)) is None


def test_restore_uploads_only_what_is_missing(node, store):
    manifest = lay_out(scan(node.data, Exclude(["**/ignored_*"])), 3, None, "/blockjoy/protocol_data")
    node.meta.mkdir(parents=True)
    blueprint = {"manifest": manifest.to_json(), "data_version": 1, "data_stamp": None}
    (node.meta / "upload.blueprint").write_text(json.dumps(blueprint))
    done = [
        Chunk(index=i, key=part(1, i), checksum=blake3_checksum(b"x" * 91), size=91, destinations=[place])
        for i, place in enumerate(chunk.destinations[0] for chunk in manifest.chunks[:2])
    ]
    (node.meta / "upload.chunks").write_text("".join(json.dumps(chunk.to_json()) + "\n" for chunk in done))
    archive = RecordingArchive(node.archive())

    run(node, archive)

    assert archive.named("get_upload_slots") == [("get_upload_slots", 1, [2], 60)]
    assert store.read(part(1, 0)) is None
    _, body = published(store, 1)
    assert [chunk.size for chunk in body] == [91, 91, 93]
    assert body[1].destinations == [location("x", 91, 91)]


def test_server_errors_name_the_chunk(node, store_config):
    """Chunks go highest index first; with one connection, the last chunk fails first."""
    node.configure({**store_config, "bucket": "no-such-bucket"})
    with fails_with(
        rf"chunk '{part(5, 2)}' upload failed: server responded with 404 Not Found \(NoSuchBucket",
    ):
        run(node, None, attrs.evolve(SMALL, max_connections=1, max_retries=0), data_version=5)


def test_missing_source_folder(nodes):
    node = nodes()
    with fails_with(r"can't read the data folder .*protocol_data: no such folder"):
        run(node)


def test_empty_source_folder(nodes):
    node = nodes()
    node.data.mkdir(parents=True)
    with fails_with("nothing to upload: /blockjoy/protocol_data holds no files or folders"):
        run(node)


def test_a_recoverable_failure_keeps_the_state(node):
    node.meta.mkdir(parents=True)
    (node.meta / "upload.blueprint").write_text("garbage")

    class NoSlots(RecordingArchive):
        def get_upload_slots(self, *args):
            raise ConnectionError("archive unreachable")

    with pytest.raises(ConnectionError):
        run(node, NoSlots(node.archive()))
    assert (node.meta / "upload.blueprint").read_text() == "garbage"


class FailingManifest(RecordingArchive):
    """Everything goes up, but handing in the manifest fails: the upload's state stays."""

    def put_download_manifest(self, manifest, data_version):
        raise ConnectionError("archive unreachable")


def test_a_touched_data_lock_starts_over_with_a_clean_chunk_list(node, store):
    with fails_with("failed to send DownloadManifest blueprint back to API"):
        run(node, FailingManifest(node.archive()))
    assert len((node.meta / "upload.chunks").read_text().splitlines()) == 3
    (node.root / "blockjoy/.protocol_data.lock").write_text("")

    archive = RecordingArchive(node.archive())
    run(node, archive)
    assert archive.named("get_upload_slots") == [("get_upload_slots", None, [0, 1, 2], 60)]
    assert archive.named("put_download_manifest") == [("put_download_manifest", 2)]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda path: path.write_bytes(b"X" * 256), "was modified after the upload began"),
        (lambda path: path.write_bytes(b"x" * 300), "changed size"),
        (lambda path: path.unlink(), "disappeared"),
        (lambda path: (path.unlink(), os.symlink("/etc/hostname", path)), "disappeared"),
    ],
)
def test_data_changed_under_the_upload_is_noticed_and_starts_over(node, store, change, problem):
    with fails_with("failed to send DownloadManifest"):
        run(node, FailingManifest(node.archive()))
    (node.meta / "upload.chunks").write_text("")  # as if nothing had gone up yet
    stamp = (node.meta / "upload.blueprint").stat().st_mtime_ns
    change(node.data / "x")
    if (node.data / "x").exists() and not (node.data / "x").is_symlink():
        os.utime(node.data / "x", ns=(stamp + 10**9, stamp + 10**9))
    with fails_with(problem):
        run(node)
    assert not (node.meta / "upload.blueprint").exists() and not (node.meta / "upload.chunks").exists()


def test_a_tampered_url_is_refused_by_the_server_and_reported(node):
    archive = RecordingArchive(
        node.archive(), lambda url: url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    )
    with fails_with(
        rf"chunk '{part(1, 2)}' upload failed: server responded with 403 Forbidden \(SignatureDoesNot",
    ):
        run(node, archive, attrs.evolve(SMALL, max_connections=1, max_retries=1))
    assert (node.meta / "upload.blueprint").exists()


def test_an_already_published_version_is_refused(node):
    run(node)
    with fails_with("data version 1 of testnet-main-v1 is already published"):
        run(node, data_version=1)


def test_manifest_chunks_are_reindexed_by_position(store, node):
    archive = node.archive()
    chunk = Chunk(index=7, key="k", checksum=EMPTY, size=0, destinations=[location("a", 0, 0)])
    archive.put_download_manifest(DownloadManifest(total_size=0, chunks=[chunk]), 9)
    assert archive.get_download_metadata().data_version == 9
    assert [c.index for c in archive.get_download_chunks(9, [0])] == [0]
