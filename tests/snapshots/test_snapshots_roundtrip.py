"""Whole trees up and back down, byte-identical: through S3 and a local folder store, after kill -9 of
the job at several points (no completed chunk is transferred twice), within bounded memory."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest
from snapshot_support import NODE_ENV, SMALL, RecordingArchive, fails_with, tree, write_tree

from babel_api.models import Compression, JobType
from blockvisor_core.plugins import plugin_manager
from blockvisor_plugins.snapshots.archive import StoreArchive
from blockvisor_plugins.snapshots.download import download_job
from blockvisor_plugins.snapshots.state import ChunkList
from blockvisor_plugins.snapshots.upload import upload_job

RUN_ATTEMPT = Path(__file__).with_name("run_attempt.py")
EXCLUDE = ["cache/**", "*.tmp"]


def generated_tree(root: Path, seed: int = 1) -> dict[str, str]:
    """Large files spanning chunks, many small files, empty files, nested and empty folders, excluded
    paths and a link; returns what a download must reproduce."""
    rnd = random.Random(seed)
    words = [rnd.randbytes(rnd.randrange(3, 12)) for _ in range(200)]

    def content(size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            out += rnd.choice(words) if rnd.random() < 0.7 else rnd.randbytes(8)
        return bytes(out[:size])

    files: dict[str, bytes | None] = {
        "big/blob0.db": content(40_000),
        "big/blob1.db": content(25_000),
        "empty_folder": None,
        "nested/empty/folders": None,
        "cache/skip.bin": content(3_000),
        "cache/deeper/skip": content(100),
        "notes.tmp": b"excluded",
    }
    for index in range(60):
        files[f"small/{index % 4}/{index % 3}/file{index}.json"] = content(rnd.randrange(0, 2_000))
    for index in range(5):
        files[f"empties/e{index}"] = b""
    write_tree(root, files)
    os.symlink("big/blob0.db", root / "link_skipped")
    return {
        path: digest
        for path, digest in tree(root).items()
        if path.split("/")[0] not in ("cache", "notes.tmp")
    }


def expected_tree(root: Path) -> dict[str, str]:
    return {
        path: digest
        for path, digest in tree(root).items()
        if not path.startswith("cache") and path != "notes.tmp" and path != "link_skipped"
    }


def test_round_trip_through_s3(nodes, store):
    source, target = nodes("source"), nodes("target")
    generated_tree(source.data)
    settings = attrs.evolve(SMALL, piece_size=512, part_size=1000, compress_threads=2)
    upload_job(
        source.context(JobType.upload(exclude=EXCLUDE, compression=Compression.zstd(3), number_of_chunks=12)),
        settings,
    )
    download_job(target.context(JobType.download()), settings)
    assert tree(target.data) == expected_tree(source.data)
    assert target.progress()["current"] == 12


def test_round_trip_through_a_local_folder_store(tmp_path):
    from snapshot_support import Node

    store = {"kind": "local", "path": str(tmp_path / "store")}
    source, target = Node(tmp_path / "source").configure(store), Node(tmp_path / "target").configure(store)
    generated_tree(source.data, seed=2)
    upload_job(source.context(JobType.upload(exclude=EXCLUDE, number_of_chunks=7)), SMALL)
    download_job(target.context(JobType.download()), SMALL)
    assert tree(target.data) == expected_tree(source.data)
    assert sorted(os.listdir(tmp_path / "store/testnet-main-v1/1"))[:2] == ["data.part_0", "data.part_1"]


def test_more_chunks_than_bytes_round_trips(nodes):
    source, target = nodes("source"), nodes("target")
    write_tree(source.data, {"a": b"abc", "b": b"", "c/d": b"ef", "e/": None})
    upload_job(source.context(JobType.upload(number_of_chunks=1000)), SMALL)
    download_job(target.context(JobType.download()), SMALL)
    assert tree(target.data) == tree(source.data)
    assert target.progress()["total"] == 5


def test_the_plugin_provides_job_kinds_stores_and_archives(nodes, tmp_path):
    hooks = plugin_manager().hook
    assert {"download": download_job, "upload": upload_job} in hooks.agent_job_kinds()
    node = nodes()
    archive = hooks.archive_api(node_dir=node.root, node_env=NODE_ENV)
    assert isinstance(archive, StoreArchive) and archive.store_key == "testnet-main-v1"
    assert hooks.archive_api(node_dir=tmp_path / "elsewhere", node_env=NODE_ENV) is None
    assert hooks.archive_store(config={"kind": "tape"}) is None
    with pytest.raises(ValueError, match=r"store\.bucket: expected a non-empty string"):
        hooks.archive_store(
            config={"kind": "s3", "endpoint": "http://h", "access_key": "a", "secret_key": "s"}
        )


# --- kill -9 and resume ---------------------------------------------------------------------------


def spawn(node, kind: str, options: dict, log: Path) -> subprocess.Popen:
    command = [sys.executable, str(RUN_ATTEMPT), str(node.root), kind, json.dumps(options), str(log), "0.02"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_when(process: subprocess.Popen, ready) -> None:
    """SIGKILL `process` as soon as `ready()` holds (it must not finish first)."""
    deadline = time.monotonic() + 20
    while not ready():
        assert process.poll() is None, "the attempt finished before the point it was to be killed at"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the attempt ended on its own"


def calls_after(log: Path, start: int) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()[start:]]


UPLOAD_OPTIONS = {"exclude": EXCLUDE, "compression": {"ZSTD": 3}, "number_of_chunks": 24}


def test_upload_killed_at_several_points_resumes_without_sending_a_chunk_twice(nodes, s3, store):
    source, target = nodes("source"), nodes("target")
    generated_tree(source.data, seed=3)
    log = source.root / "calls.log"
    done_file = source.meta / "upload.chunks"
    points = [
        lambda: (source.meta / "upload.blueprint").exists(),
        lambda: lines(done_file) >= 3,
        lambda: lines(done_file) >= 12,
    ]
    completed: dict[int, tuple[int, int]] = {}
    for ready in points:
        seen = lines(log)
        kill_when(spawn(source, "upload", UPLOAD_OPTIONS, log), ready)
        for call in calls_after(log, seen):
            assert not set(call["indexes"]) & set(completed), "a completed chunk was asked a URL for again"
        for chunk in ChunkList(done_file).load():
            stat = (s3.backend / store.bucket / chunk.key).stat()
            completed.setdefault(chunk.index, (stat.st_ino, stat.st_mtime_ns))
    seen = lines(log)
    finished = spawn(source, "upload", UPLOAD_OPTIONS, log)
    assert finished.wait() == 0
    for call in calls_after(log, seen):
        assert not set(call["indexes"]) & set(completed)
    assert len(completed) >= 12
    for index, identity in completed.items():
        stat = (s3.backend / store.bucket / f"testnet-main-v1/1/data.part_{index}").stat()
        assert (stat.st_ino, stat.st_mtime_ns) == identity, f"chunk {index} was uploaded again"

    download_job(target.context(JobType.download()), SMALL)
    assert tree(target.data) == expected_tree(source.data)


def test_download_killed_at_several_points_resumes_without_fetching_a_chunk_twice(nodes):
    source, target = nodes("source"), nodes("target")
    generated_tree(source.data, seed=4)
    upload_job(
        source.context(JobType.upload(**{**UPLOAD_OPTIONS, "compression": Compression.zstd(3)})), SMALL
    )
    log = target.root / "calls.log"
    done_file = target.meta / "download.chunks"
    points = [
        lambda: (target.meta / "download.metadata").exists(),
        lambda: lines(done_file) >= 3,
        lambda: lines(done_file) >= 12,
    ]
    completed: set[int] = set()
    for ready in points:
        seen = lines(log)
        kill_when(spawn(target, "download", {}, log), ready)
        for call in calls_after(log, seen):
            assert not set(call["indexes"]) & completed, "a completed chunk was asked a URL for again"
        completed |= {chunk.index for chunk in ChunkList(done_file).load()}
    seen = lines(log)
    finished = spawn(target, "download", {}, log)
    assert finished.wait() == 0
    for call in calls_after(log, seen):
        assert not set(call["indexes"]) & completed
    assert len(completed) >= 12
    assert tree(target.data) == expected_tree(source.data)


def test_upload_memory_does_not_grow_with_the_chunk_size(nodes):
    """One 96 MB chunk of incompressible data, 8 runners: the original held the whole compressed chunk
    (and a 128 MiB read buffer) in memory; here the peak stays a few pieces above the interpreter's."""
    node = nodes()
    node.data.mkdir(parents=True)
    (node.data / "blob").write_bytes(os.urandom(96 * 2**20))
    options = {"compression": {"ZSTD": 3}, "number_of_chunks": 1, "max_runners": 8}
    process = spawn(node, "upload", options, node.root / "calls.log")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    print(f"peak RSS {int(output) // 1000} MB")
    assert int(output) < 150_000, f"peak RSS {int(output) // 1000} MB"


def test_a_stopped_job_reports_it_was_interrupted(nodes):
    node = nodes()
    generated_tree(node.data, seed=5)
    ctx = node.context(JobType.upload(exclude=EXCLUDE, number_of_chunks=24))
    archive = RecordingArchive(ctx.archive)

    class StopAfterFirstSlots(RecordingArchive):
        def get_upload_slots(self, *args):
            ctx.stop.set()
            return archive.get_upload_slots(*args)

    ctx = attrs.evolve(ctx, archive=StopAfterFirstSlots(archive))
    with fails_with("upload interrupted"):
        upload_job(ctx, SMALL)
    assert (node.meta / "upload.blueprint").exists()
