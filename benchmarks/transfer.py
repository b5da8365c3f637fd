"""What the snapshot transfer jobs achieve, against this machine's ceilings and the tool a user would pick.

Generates a dataset (default 2048 MB, about 3:1 compressible with zstd, mixed file sizes: big files
spanning chunks, medium ones, many small ones, empty files and folders), starts one `rclone serve s3`
on loopback and measures, in one run:

(a) the ceilings of this machine on the same bytes: zstd compression at the job's level on all cores
    (`threads` = cores, data already in memory), zstd decompression on all cores (one frame per core),
    reading the dataset's files (as the job reads them: from the page cache, just written), and
    writing them to new files, synced;
(b) the peer: `rclone copy` of the raw tree up to the server and back down, default settings (note:
    rclone does not sync the files it downloads; the download job syncs every file before it counts);
(c) the upload and download jobs (default settings: 8 runners, 3 connections, ~500 MB chunks, ZSTD 3),
    each in a process of its own, as MB/s of uncompressed data and peak RSS; then checks that the
    downloaded tree is byte-identical to the source.

The server runs on the same cores: its CPU time in each phase is reported, and so is the share of the
compress ceiling that is left once that time is paid (the upload needs all cores for compression, so
every second the server computes is a second compression waits).

Goals: upload >= 85% of the compress ceiling; download >= 85% of min(decompress, disk write); both
faster than rclone; peak RSS under 512 MB. MB = 10^6 bytes. Every phase starts after `sync`.

    .venv/bin/python benchmarks/transfer.py [--size-mb N] [--json] [--workdir DIR]
"""

import argparse
import concurrent.futures
import filecmp
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "snapshots"))

from s3_server import S3Server, rclone  # noqa: E402

from babel_api.models import Compression, JobConfig, JobType, NodeEnv, RestartPolicy  # noqa: E402
from blockvisor_core.job_kinds import JobContext  # noqa: E402
from blockvisor_core.node_access import NodeAccess  # noqa: E402
from blockvisor_core.paths import archive_config  # noqa: E402
from blockvisor_core.plugins import plugin_manager  # noqa: E402

MB = 10**6
MiB = 2**20
LEVEL = 3
STORE_KEY = "bench-main-v1"
NODE_ENV = NodeEnv(data_mount_point="/blockjoy", protocol_data_path="/blockjoy/protocol_data")
CORES = os.cpu_count() or 1
#: The server stands in for remote object storage, whose CPU is not ours; yet here it runs on the same
#: cores. `--ignore-checksum` spares it re-reading every object it received to compare MD5 sums
#: (about 2 ms of CPU per MB); the peer's uploads, three times bigger, gain the most from it.
SERVER_FLAGS = ("--ignore-checksum",)


# --- dataset -------------------------------------------------------------------------------------


def pool(size: int, seed: int) -> bytes:
    """Bytes that zstd -3 compresses about 3:1: random runs alternating with copies of bytes of the last
    32 KiB (near enough that any slice of the pool, even a small file, compresses alike)."""
    rnd = random.Random(seed)
    out = bytearray(rnd.randbytes(4096))
    while len(out) < size:
        out += rnd.randbytes(rnd.randrange(48, 200))
        length = rnd.randrange(64, 480)
        start = rnd.randrange(max(0, len(out) - 32 * 1024), len(out) - length)
        out += out[start : start + length]
    return bytes(out[:size])


def file_sizes(total: int, rnd: random.Random) -> list[tuple[str, int]]:
    """Relative paths and sizes adding up to `total`: 60% in three big files, 25% in medium files
    (4-32 MB), the rest in small files (1 KB-256 KB) in nested folders; plus empty files."""
    files = [(f"big/blob{i}.db", int(total * share)) for i, share in enumerate((0.25, 0.2, 0.15))]
    left = total * 25 // 100
    index = 0
    while left > 0:
        size = min(left, rnd.randrange(4 * MB, 32 * MB))
        files.append((f"medium/{index % 7}/seg{index:04}.sst", size))
        left -= size
        index += 1
    left = total - sum(size for _, size in files)
    index = 0
    while left > 0:
        size = min(left, rnd.randrange(1000, 256 * 1000))
        depth = "/".join(f"d{(index >> shift) % 5}" for shift in (0, 3, 6)[: 1 + index % 3])
        files.append((f"small/{depth}/f{index:05}.json", size))
        left -= size
        index += 1
    files += [(f"small/empty{i}", 0) for i in range(20)]
    return files


def generate(folder: Path, total: int, seed: int = 7) -> int:
    rnd = random.Random(seed)
    data = pool(64 * MiB, seed)
    data += data[: 8 * MiB]
    for path, size in file_sizes(total, rnd):
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as file:
            left = size
            while left:
                piece = min(left, 8 * MiB)
                start = rnd.randrange(0, 64 * MiB)
                file.write(data[start : start + piece])
                left -= piece
    for name in ("empty_a", "empty_b/inner", "logs"):
        (folder / "folders" / name).mkdir(parents=True, exist_ok=True)
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def groups(folder: Path, size: int):
    """The dataset's bytes, in memory, `size` bytes at a time."""
    buffer = bytearray()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        buffer += path.read_bytes()
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


# --- ceilings ------------------------------------------------------------------------------------


class _Null:
    """A sink that only counts."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


def _decompress(frame: bytes) -> int:
    sink = _Null()
    writer = zstandard.ZstdDecompressor().stream_writer(sink, write_size=4 * MiB)
    for offset in range(0, len(frame), 4 * MiB):
        writer.write(frame[offset : offset + 4 * MiB])
    return sink.count


def ceilings(folder: Path, total: int, scratch: Path) -> dict:
    """Ceilings on the dataset's bytes, 256 MiB at a time in memory: compress (one frame per 256 MiB,
    zstd worker threads on every core, fed 4 MiB at a time), decompress (the frames on a thread per
    core), write (a file per 256 MiB, synced) and read (the files, 8 MiB at a time)."""
    compressor = zstandard.ZstdCompressor(level=LEVEL, threads=CORES)
    compress_time = write_time = 0.0
    frames = []
    scratch.mkdir()
    for number, group in enumerate(groups(folder, 256 * MiB)):
        view = memoryview(group)
        start = time.perf_counter()
        stream = compressor.compressobj()
        parts = [stream.compress(view[offset : offset + 4 * MiB]) for offset in range(0, len(view), 4 * MiB)]
        parts.append(stream.flush())
        compress_time += time.perf_counter() - start
        frames.append(b"".join(parts))
        start = time.perf_counter()
        with (scratch / f"group{number}").open("wb") as file:
            for offset in range(0, len(view), 8 * MiB):
                file.write(view[offset : offset + 8 * MiB])
            file.flush()
            os.fsync(file.fileno())
        write_time += time.perf_counter() - start
    shutil.rmtree(scratch)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CORES) as threads:
        assert sum(threads.map(_decompress, frames)) == total
    decompress_time = time.perf_counter() - start
    compressed = sum(map(len, frames))
    del frames

    start = time.perf_counter()
    buffer = bytearray(8 * MiB)
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb", buffering=0) as file:
                while file.readinto(buffer):
                    pass
    read_time = time.perf_counter() - start
    return {
        "compress_ceiling_mb_s": total / compress_time / MB,
        "decompress_ceiling_mb_s": total / decompress_time / MB,
        "disk_read_mb_s": total / read_time / MB,
        "disk_write_mb_s": total / write_time / MB,
        "compression_ratio": total / compressed,
    }


# --- the peer ------------------------------------------------------------------------------------


def rclone_copy(source: str, target: str) -> float:
    env = {**os.environ, "RCLONE_CONFIG": os.devnull}
    start = time.perf_counter()
    subprocess.run([rclone(), "copy", source, target], check=True, env=env)
    return time.perf_counter() - start


# --- the jobs ------------------------------------------------------------------------------------


def node(folder: Path, store: dict) -> Path:
    config = archive_config(folder)
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"store": store, "store_key": STORE_KEY}))
    return folder


def run_job(kind: str, node_dir: Path) -> tuple[float, float, float]:
    """Run one attempt of job `kind` for `node_dir` in a child process: wall seconds, peak RSS in MB and
    CPU seconds (user + system, all threads).

    The child reports its own peak (`VmHWM`): `ru_maxrss` of a child survives `exec` and would show
    this process's peak instead."""
    cpu_before = children_cpu_seconds()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--workdir", str(node_dir)],
        check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return time.perf_counter() - start, float(result.stdout) / 1000, children_cpu_seconds() - cpu_before


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child(kind: str, node_dir: Path) -> None:
    """The child process of `run_job`: one attempt of the job, as the agent's job runner would run it."""
    job_type = JobType.upload(compression=Compression.zstd(LEVEL)) if kind == "upload" else JobType.download()
    (node_dir / "job").mkdir(exist_ok=True)
    ctx = JobContext(
        name=kind,
        config=JobConfig(job_type=job_type, restart=RestartPolicy.never()),
        node_env=NODE_ENV,
        access=NodeAccess(cwd="/", mounts={"/": node_dir}),
        job_dir=node_dir / "job",
        archive=plugin_manager().hook.archive_api(node_dir=node_dir, node_env=NODE_ENV),
        stop=threading.Event(),
        report_progress=lambda progress: None,
    )
    plugin_manager().hook.agent_job_kinds()[0][kind](ctx)
    status = Path("/proc/self/status").read_text()
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def identical(left: Path, right: Path) -> bool:
    """Same files with the same bytes, and the same (empty) folders."""

    def listing(root: Path) -> set[str]:
        return {f"{path.relative_to(root)}{'/' if path.is_dir() else ''}" for path in root.rglob("*")}

    if listing(left) != listing(right):
        return False
    return all(
        filecmp.cmp(path, right / path.relative_to(left), shallow=False)
        for path in left.rglob("*")
        if path.is_file()
    )


# --- the run -------------------------------------------------------------------------------------


def phase(server: S3Server, action):
    """`action()` after flushing earlier phases' dirty pages, and the server's CPU seconds meanwhile."""
    os.sync()
    before = server.cpu_seconds()
    return action(), server.cpu_seconds() - before


def report(r: dict) -> None:
    lines = [
        f"dataset: {r['size_mb']:.0f} MB, zstd -{LEVEL} ratio {r['compression_ratio']:.2f},"
        f" {r['cores']} cores",
        f"ceilings: compress {r['compress_ceiling_mb_s']:.0f} MB/s,"
        f" decompress {r['decompress_ceiling_mb_s']:.0f} MB/s, disk read {r['disk_read_mb_s']:.0f} MB/s,"
        f" disk write {r['disk_write_mb_s']:.0f} MB/s",
        f"rclone copy: up {r['rclone_up_mb_s']:.0f} MB/s, down {r['rclone_down_mb_s']:.0f} MB/s",
        f"upload:   {r['upload_mb_s']:.0f} MB/s = {r['upload_vs_compress_ceiling']:.0%} of the compress"
        f" ceiling (goal 85%; {r['upload_vs_ceiling_after_server_cpu']:.0%} of what the server's CPU time"
        f" leaves of it), {r['upload_vs_rclone']:.2f}x rclone;"
        f" peak RSS {r['upload_peak_rss_mb']:.0f} MB (goal < 512)",
        f"download: {r['download_mb_s']:.0f} MB/s = {r['download_vs_ceiling']:.0%} of min(decompress, disk"
        f" write) (goal 85%), {r['download_vs_rclone']:.2f}x rclone;"
        f" peak RSS {r['download_peak_rss_mb']:.0f} MB (goal < 512)",
        f"round trip byte-identical: {r['identical']}",
        f"CPU seconds taken by the S3 server on these cores: rclone up {r['server_cpu_s_rclone_up']:.1f},"
        f" down {r['server_cpu_s_rclone_down']:.1f}; upload job {r['server_cpu_s_upload']:.1f},"
        f" download job {r['server_cpu_s_download']:.1f}",
        f"CPU seconds of the jobs themselves: upload {r['upload_job_cpu_s']:.1f} (the compress ceiling's"
        f" work on all cores: {r['compress_ceiling_cpu_s']:.1f}), download {r['download_job_cpu_s']:.1f}",
    ]
    print("\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="dataset size in MB (default 2048)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workdir", type=Path, help="where to work (default: a temporary folder)")
    parser.add_argument("--child", choices=("upload", "download"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workdir)
        return
    say = (lambda *_: None) if args.json else print
    work = Path(tempfile.mkdtemp(prefix="transfer-bench-", dir=args.workdir))
    server = None
    try:
        server = S3Server(work / "s3", extra_args=SERVER_FLAGS)
        source_node = node(work / "source", server.store_config())
        data = source_node / "blockjoy/protocol_data"
        say(f"generating {args.size_mb} MB in {data} ...")
        total = generate(data, args.size_mb * MB)
        results: dict = {"size_mb": total / MB, "cores": CORES}

        say("measuring ceilings ...")
        os.sync()
        results |= ceilings(data, total, work / "scratch")

        say("rclone copy up and down ...")
        seconds, results["server_cpu_s_rclone_up"] = phase(
            server, lambda: rclone_copy(str(data), server.rclone_remote("rclone"))
        )
        results["rclone_up_mb_s"] = total / seconds / MB
        seconds, results["server_cpu_s_rclone_down"] = phase(
            server, lambda: rclone_copy(server.rclone_remote("rclone"), str(work / "rclone"))
        )
        results["rclone_down_mb_s"] = total / seconds / MB
        shutil.rmtree(work / "rclone")

        say("upload job ...")
        (seconds, rss, cpu), results["server_cpu_s_upload"] = phase(
            server, lambda: run_job("upload", source_node)
        )
        results["upload_mb_s"], results["upload_peak_rss_mb"] = total / seconds / MB, rss
        results["upload_job_cpu_s"] = cpu
        say("download job ...")
        target_node = node(work / "target", server.store_config())
        (seconds, rss, cpu), results["server_cpu_s_download"] = phase(
            server, lambda: run_job("download", target_node)
        )
        results["download_mb_s"], results["download_peak_rss_mb"] = total / seconds / MB, rss
        results["download_job_cpu_s"] = cpu
        results["identical"] = identical(data, target_node / "blockjoy/protocol_data")

        download_ceiling = min(results["decompress_ceiling_mb_s"], results["disk_write_mb_s"])
        results["upload_vs_compress_ceiling"] = results["upload_mb_s"] / results["compress_ceiling_mb_s"]
        # What is left of the ceiling once the server's own CPU time, spread over the cores, is paid.
        compress_seconds = total / MB / results["compress_ceiling_mb_s"]
        results["compress_ceiling_cpu_s"] = compress_seconds * CORES
        attainable = total / MB / (compress_seconds + results["server_cpu_s_upload"] / CORES)
        results["upload_vs_ceiling_after_server_cpu"] = results["upload_mb_s"] / attainable
        results["download_vs_ceiling"] = results["download_mb_s"] / download_ceiling
        results["upload_vs_rclone"] = results["upload_mb_s"] / results["rclone_up_mb_s"]
        results["download_vs_rclone"] = results["download_mb_s"] / results["rclone_down_mb_s"]
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(
            json.dumps(
                {
                    key: round(value, 3) if isinstance(value, float) else value
                    for key, value in results.items()
                }
            )
        )
    else:
        report(results)


if __name__ == "__main__":
    main()
