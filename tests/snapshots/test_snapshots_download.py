"""The download job against a real S3 server, on manifests written by the tests (spec §7.1, §7.10, §9),
and on hostile ones: nothing is ever written outside the data folder."""

import datetime
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs
import pytest
import zstandard
from snapshot_support import (
    SMALL,
    CraftedArchive,
    RecordingArchive,
    blake3_checksum,
    fails_with,
    location,
    sha1_checksum,
    sha256_checksum,
)

from babel_api.archive import Chunk, DownloadMetadata
from babel_api.models import Compression, JobConfig, JobType, NodeEnv, RestartPolicy
from blockvisor_core.job_kinds import JobContext
from blockvisor_core.node_access import NodeAccess
from blockvisor_plugins.snapshots import sigv4
from blockvisor_plugins.snapshots.checksums import EMPTY
from blockvisor_plugins.snapshots.download import download_job


def metadata(total, chunks, version=1, compression=None):
    return DownloadMetadata(total_size=total, compression=compression, chunks=chunks, data_version=version)


def chunk(index, key, data, checksum, *places):
    return Chunk(
        index=index,
        key=key,
        checksum=checksum(data),
        size=len(data),
        destinations=[location(*p) for p in places],
    )


def run(node, archive, settings=SMALL):
    download_job(node.context(JobType.download(), archive), settings)


def test_full_download(nodes, store):
    node = nodes()
    data0 = b"\0" * 100 + b"\1" * 200 + b"\2" * 300
    data1 = b"\3" * 324
    chunks = [
        chunk(0, "first", data0, blake3_checksum, ("zero.file", 0, 100), ("first.file", 0, 200),
              ("second.file", 0, 300), ("empty.file", 0, 0)),
        chunk(1, "second", data1, sha256_checksum, ("second.file", 300, 324)),
    ]  # fmt: skip
    assert chunks[0].checksum.digest[:4] == bytes([0x55, 0x42, 0x1E, 0x7B])
    archive = CraftedArchive(store, metadata(924, 2), chunks)
    archive.put_object("first", data0)
    archive.put_object("second", data1)

    run(node, archive)

    assert (node.data / "zero.file").read_bytes() == b"\0" * 100
    assert (node.data / "first.file").read_bytes() == b"\1" * 200
    assert (node.data / "second.file").read_bytes() == b"\2" * 300 + b"\3" * 324
    assert (node.data / "empty.file").read_bytes() == b""
    mtimes = {(node.data / name).stat().st_mtime_ns for name in ("empty.file", "first.file", "second.file")}
    assert len(mtimes) == 1
    assert {"download.chunks", "download.metadata", "download.parts"} <= set(os.listdir(node.meta))
    assert node.progress()["total"] == 2 and node.progress()["current"] == 2
    assert node.progress()["bytes_current"] == node.progress()["bytes_total"] == 924
    calls = list(archive.calls)
    assert calls == [("get_download_metadata",), ("get_download_chunks", 1, [0, 1])]

    run(node, archive)
    assert archive.calls == calls


def test_download_with_compression_and_a_retried_attempt(nodes, store):
    node = nodes()
    data0 = b"\1" * 150 + b"\2" * 150
    data1 = b"\3" * 200
    level5 = zstandard.ZstdCompressor(level=5)
    frames = []
    for data in (data0, data1):
        stream = level5.compressobj()
        frames.append(stream.compress(data) + stream.flush())
    chunks = [
        chunk(0, "c0", frames[0], blake3_checksum, ("a", 0, 150), ("b", 0, 150)),
        chunk(1, "c1", frames[1], sha256_checksum, ("b", 150, 200)),
    ]
    archive = CraftedArchive(store, metadata(500, 2, compression=Compression.zstd(5)), chunks)
    archive.put_object("c1", frames[1])
    settings = attrs.evolve(SMALL, max_runners=1)

    with fails_with("chunk 'c0' download failed: server responded with 404 Not Found"):
        run(node, archive, settings)
    archive.put_object("c0", frames[0])
    run(node, archive, settings)

    assert (node.data / "a").read_bytes() == b"\1" * 150
    assert (node.data / "b").read_bytes() == b"\2" * 150 + b"\3" * 200
    assert archive.chunk_calls() == [[1], [0], [0]]


def test_empty_download_makes_empty_files_without_requests(nodes, store):
    node = nodes()
    empty = Chunk(
        index=0, key="", checksum=EMPTY, size=0, destinations=[location("e1", 0, 0), location("d/e2", 0, 0)]
    )
    run(node, CraftedArchive(store, metadata(0, 1), [empty]))
    assert (node.data / "e1").read_bytes() == b"" and (node.data / "d/e2").read_bytes() == b""


def test_invalid_manifests(nodes, store):
    node = nodes()
    no_destinations = Chunk(index=0, key="first_chunk", checksum=EMPTY, size=10, destinations=[])
    with fails_with(
        "chunk 'first_chunk' download failed: corrupted manifest - expected at least one destination",
    ):
        run(node, CraftedArchive(store, metadata(10, 1), [no_destinations]))

    for name in os.listdir(node.meta):
        os.unlink(node.meta / name)
    data = b"\7" * 200
    too_long = chunk(0, "first_chunk", data, blake3_checksum, ("file", 0, 100))
    archive = CraftedArchive(store, metadata(200, 1), [too_long])
    archive.put_object("first_chunk", data)
    with fails_with(r"\(decompressed\) chunk size doesn't match expected one: more than 100 bytes"):
        run(node, archive)
    assert (node.meta / "download.metadata").exists()


def test_decompressed_data_shorter_than_declared_is_an_error(nodes, store):
    node = nodes()
    stream = zstandard.ZstdCompressor(level=3).compressobj()
    frame = stream.compress(b"z" * 90) + stream.flush()
    short = chunk(0, "short", frame, blake3_checksum, ("f", 0, 100), ("g", 0, 0))
    archive = CraftedArchive(store, metadata(100, 1, compression=Compression.zstd(3)), [short])
    archive.put_object("short", frame)
    with fails_with(r"chunk size doesn't match expected one: 90 bytes of 100 declared"):
        run(node, archive)
    assert not (node.meta / "download.chunks").exists()


def test_decompressed_data_longer_than_declared_is_refused(nodes, store):
    node = nodes()
    stream = zstandard.ZstdCompressor(level=3).compressobj()
    bomb = stream.compress(b"\0" * 10_000_000) + stream.flush()
    long = chunk(0, "bomb", bomb, blake3_checksum, ("f", 0, 1000))
    archive = CraftedArchive(store, metadata(1000, 1, compression=Compression.zstd(3)), [long])
    archive.put_object("bomb", bomb)
    with fails_with("more than 1000 bytes"):
        run(node, archive, attrs.evolve(SMALL, piece_size=4096))
    assert (node.data / "f").stat().st_size == 1000


@pytest.fixture
def misbehaving_server():
    """An HTTP server answering a range request for N bytes with the body `/<mode>` asks for."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            mode = self.path.split("?")[0].strip("/")
            if mode == "none":
                self.send_error(501)
                return
            size = {"more": 150, "less": 50}[mode]
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.write(b"\1" * size)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("more", "server error: received more bytes than requested"),
        ("less", "server error: received less bytes than requested"),
        ("none", "server responded with 501 Not Implemented"),
    ],
)
def test_server_errors(nodes, store, misbehaving_server, mode, message):
    node = nodes()
    descriptor = chunk(0, f"{mode}_chunk", b"\1" * 100, blake3_checksum, ("file", 0, 100))
    archive = CraftedArchive(store, metadata(100, 1), [descriptor])
    archive.urls[0] = [f"{misbehaving_server}/{mode}"]
    with fails_with(f"chunk '{mode}_chunk' download failed: {message}"):
        run(node, archive, attrs.evolve(SMALL, max_retries=0))


def test_resume_skips_completed_chunks_and_overwrites_partial_files(nodes, store):
    node = nodes()
    data = {i: bytes([i + 1]) * 150 for i in range(3)}
    chunks = [chunk(i, f"c{i}", data[i], sha1_checksum, (f"file{i}", 0, 150)) for i in range(3)]
    assert chunks[2].checksum.digest[:4] == bytes([0xFA, 0x01, 0xF3, 0x2D])
    assert chunks[1].checksum.digest[:4] == bytes([0x98, 0x96, 0x7F, 0x24])
    node.meta.mkdir(parents=True)
    (node.meta / "download.metadata").write_text(json.dumps(metadata(450, 3, version=3).to_json()))
    (node.meta / "download.chunks").write_text(json.dumps(chunks[0].to_json()) + "\n")
    node.data.mkdir(parents=True)
    (node.data / "file0").write_bytes(data[0])
    (node.data / "file1").write_bytes(b"\1" * 55 + b"stale tail, longer than the file")
    archive = CraftedArchive(store, metadata(450, 3, version=3), chunks)
    for i in (1, 2):
        archive.put_object(f"c{i}", data[i])

    run(node, archive, attrs.evolve(SMALL, max_runners=1))

    assert archive.chunk_calls() == [[2], [1]]
    assert ("get_download_metadata",) not in archive.calls
    assert [(node.data / f"file{i}").read_bytes() for i in range(3)] == [data[0], data[1], data[2]]


def test_not_enough_disk_space(nodes, store):
    node = nodes()
    huge = 2**64 - 1
    with fails_with(f"^Can't download {huge} bytes of data while only"):
        run(node, CraftedArchive(store, metadata(huge, 1), []))


def test_writer_error(nodes, store):
    node = nodes()
    node.data.mkdir(parents=True)
    (node.data / "blocked").write_bytes(b"a file where a folder should be")
    descriptor = chunk(0, "c0", b"data", blake3_checksum, ("blocked/file", 0, 4))
    archive = CraftedArchive(store, metadata(4, 1), [descriptor])
    archive.put_object("c0", b"data")
    with fails_with(r"chunk 'c0' download failed: .*'blocked' is a symbolic link or not a folder"):
        run(node, archive)


def test_remnants_after_a_failure_are_removed_on_a_fresh_start(nodes, store):
    node = nodes()
    good, bad = b"\1" * 100, b"\2" * 120
    # Chunks go highest index first: the second one completes, then the first one fails.
    chunks = [
        attrs.evolve(
            chunk(0, "first_chunk", bad, sha1_checksum, ("third.file", 0, 120), ("fourth.file", 0, 0)),
            checksum=sha1_checksum(b"not it"),
        ),
        chunk(1, "second_chunk", good, blake3_checksum, ("first.file", 0, 50), ("second.file", 0, 50)),
    ]
    archive = CraftedArchive(store, metadata(220, 2), chunks)
    archive.put_object("first_chunk", bad)
    archive.put_object("second_chunk", good)
    with fails_with(r"chunk 'first_chunk' download failed: chunk checksum mismatch - expected \["):
        run(node, archive, attrs.evolve(SMALL, max_runners=1))
    names = ("first.file", "second.file", "third.file", "fourth.file")
    assert all((node.data / name).exists() for name in names)
    assert node.progress()["total"] == 2 and node.progress()["current"] == 1
    assert (node.meta / "download.chunks").exists()

    os.unlink(node.meta / "download.metadata")
    fresh = chunk(0, "missing", b"x", blake3_checksum, ("new.file", 0, 1))
    with fails_with("chunk 'missing' download failed: server responded with 404"):
        run(node, CraftedArchive(store, metadata(1, 1), [fresh]))
    assert not any((node.data / name).exists() for name in names)
    assert not (node.meta / "download.chunks").exists()
    assert json.loads((node.meta / "download.metadata").read_text())["total_size"] == 1


def test_a_corrupted_object_is_detected_and_fetched_again(nodes, store):
    node = nodes()
    data = os.urandom(1000)
    archive = CraftedArchive(
        store, metadata(1000, 1), [chunk(0, "c0", data, blake3_checksum, ("f", 0, 1000))]
    )
    archive.put_object("c0", data[:500] + b"!" + data[501:])
    with fails_with(r"chunk 'c0' download failed: chunk checksum mismatch - expected \["):
        run(node, archive, attrs.evolve(SMALL, max_retries=2))
    assert not (node.meta / "download.chunks").exists()
    archive.put_object("c0", data)
    run(node, archive)
    assert (node.data / "f").read_bytes() == data
    assert archive.chunk_calls() == [[0], [0]]


def test_an_empty_chunk_batch_is_an_error(nodes, store):
    node = nodes()
    with fails_with(r"the archive returned none of the chunks asked for: \[0, 1\]"):
        run(node, CraftedArchive(store, metadata(10, 2), []))


def test_an_expired_url_is_replaced(nodes, store, store_config):
    node = nodes()
    data = b"fresh" * 100
    archive = CraftedArchive(store, metadata(500, 1), [chunk(0, "c0", data, blake3_checksum, ("f", 0, 500))])
    archive.put_object("c0", data)
    expired = sigv4.presign(
        "GET",
        f"{store.endpoint}/{store.bucket}/c0",
        access_key=store_config["access_key"],
        secret_key=store_config["secret_key"],
        region=store.region,
        expires=60,
        now=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2),
    )
    archive.urls[0] = [expired]
    run(node, archive, attrs.evolve(SMALL, max_retries=1))
    assert (node.data / "f").read_bytes() == data
    assert archive.chunk_calls() == [[0], [0]]


def test_a_tampered_url_is_refused_by_the_server_and_reported(nodes, store):
    node = nodes()
    data = b"x" * 300
    crafted = CraftedArchive(store, metadata(300, 1), [chunk(0, "c0", data, blake3_checksum, ("f", 0, 300))])
    crafted.put_object("c0", data)
    archive = RecordingArchive(
        crafted, tamper=lambda url: url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    )
    with fails_with(r"server responded with 403 Forbidden \(SignatureDoesNotMatch: "):
        run(node, archive, attrs.evolve(SMALL, max_retries=1))
    assert len(archive.named("get_download_chunks")) == 2


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../outside/evil", "'..' leaves the data folder"),
        ("/tmp/evil", "an absolute path leaves the data folder"),
        ("escape/evil", "'escape' is a symbolic link or not a folder"),
        ("link_to_file", "is a symbolic link"),
    ],
)
def test_destinations_leaving_the_data_folder_are_refused(nodes, store, tmp_path, path, problem):
    node = nodes()
    outside = tmp_path / "outside"
    outside.mkdir()
    node.data.mkdir(parents=True)
    os.symlink(outside, node.data / "escape")
    os.symlink(outside / "target", node.data / "link_to_file")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if not p.is_relative_to(node.root)}
    data = b"evil" * 10
    descriptor = chunk(0, "c0", data, blake3_checksum, ("fine", 0, 0), (path, 0, 40))
    archive = CraftedArchive(store, metadata(40, 1), [descriptor])
    archive.put_object("c0", data)
    with fails_with(problem):
        run(node, archive)
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if not p.is_relative_to(node.root)}
    assert after == before
    assert list(outside.iterdir()) == []
    assert not os.path.exists("/tmp/evil")


def test_overlapping_destinations_are_refused_before_anything_is_written(nodes, store):
    node = nodes()
    chunks = [
        chunk(0, "c0", b"a" * 100, blake3_checksum, ("file", 0, 100)),
        chunk(1, "c1", b"b" * 100, blake3_checksum, ("other", 0, 10), ("./file", 90, 90)),
    ]
    archive = CraftedArchive(store, metadata(200, 2), chunks)
    with fails_with(r"overlapping destinations: chunk 1 and chunk 0 both write bytes 90\.\.100 of 'file'"):
        run(node, archive)
    assert not (node.data / "file").exists() and not (node.data / "other").exists()


def test_hostile_state_files_never_reach_outside(nodes, store, tmp_path):
    node = nodes()
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    node.meta.mkdir(parents=True)
    evil = chunk(0, "c0", b"x", blake3_checksum, ("../../../victim", 0, 1))
    (node.meta / "download.parts").write_text(json.dumps(evil.to_json()) + "\n")
    data = b"fine"
    archive = CraftedArchive(store, metadata(4, 1), [chunk(0, "c0", data, blake3_checksum, ("f", 0, 4))])
    archive.put_object("c0", data)
    run(node, archive)
    assert victim.read_bytes() == b"keep me"

    (node.meta / "download.chunks").write_text(json.dumps(evil.to_json()) + "\n")
    with fails_with(r"'\.\.' leaves the data folder"):
        run(node, archive)
    assert victim.read_bytes() == b"keep me"


def test_a_stopped_download_reports_it_was_interrupted(nodes, store):
    node = nodes()
    data = b"d" * 1000
    crafted = CraftedArchive(
        store, metadata(1000, 1), [chunk(0, "c0", data, blake3_checksum, ("f", 0, 1000))]
    )
    crafted.put_object("c0", data)
    ctx = node.context(JobType.download())

    class StopOnChunks(RecordingArchive):
        def get_download_chunks(self, *args):
            ctx.stop.set()
            return super().get_download_chunks(*args)

    ctx = attrs.evolve(ctx, archive=StopOnChunks(crafted))
    with fails_with("download interrupted"):
        download_job(ctx, SMALL)
    assert not (node.meta / "download.chunks").exists()


def test_protocol_data_already_present_is_never_downloaded_over(tmp_path):
    """Spec §2.7: the download job finishes at once when the protocol-data lock exists."""
    data = tmp_path / "data"
    (data / "protocol_data").mkdir(parents=True)
    (data / ".protocol_data.lock").touch()
    (data / "protocol_data" / "kept").write_text("local state")

    class NoArchive:
        def __getattr__(self, name):
            raise AssertionError(f"the archive was asked for {name}")

    context = JobContext(
        name="download",
        config=JobConfig(job_type=JobType.download(), restart=RestartPolicy.never()),
        node_env=NodeEnv(data_mount_point=str(data), protocol_data_path=str(data / "protocol_data")),
        access=NodeAccess(cwd=str(tmp_path), mounts={str(tmp_path): tmp_path}),
        job_dir=tmp_path / "job",
        archive=NoArchive(),
        stop=threading.Event(),
        report_progress=lambda progress: None,
    )
    download_job(context)
    assert (data / "protocol_data" / "kept").read_text() == "local state"
