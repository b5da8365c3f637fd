"""`bv node job NODE ...` against the fake daemon, and its logs read from the node's folder."""

import io
import json
import queue
import threading
import time

import pytest
from cli_support import bv_process
from fake_daemon import ETH_ID, STAMP

from babel_api.models import JobInfo, JobProgress, JobStatus
from blockvisor_core.cli import progress
from blockvisor_core.cli.progress import follow_job
from blockvisor_core.protos import blockvisor_pb2 as pb


def test_list(bv, daemon):
    result = bv("node", "job", "eth-1", "list")
    assert result.out == (
        "NAME                 STATUS\n"
        "download             Finished with exit code 0\n"
        "node                 Running\n"
    )
    jobs = bv("n", "j", "eth-1", "ls", "--format", "json").json
    assert [(job["name"], job["status"], job["exit_code"]) for job in jobs] == [
        ("download", "finished", 0),
        ("node", "running", None),
    ]
    daemon.jobs.clear()
    assert bv("node", "job", "eth-1", "ls").out == ""
    assert bv("node", "job", "eth-1", "ls", "--format", "json").json == []


@pytest.mark.parametrize(
    ("command", "rpc", "message"),
    [
        ("start", "StartNodeJob", "Started job `node`"),
        ("stop", "StopNodeJob", "Stopped job `node`"),
        ("skip", "SkipNodeJob", "Skipped job `node`"),
        ("cleanup", "CleanupNodeJob", "Cleaned up job `node`"),
    ],
)
def test_job_control(bv, daemon, command, rpc, message):
    assert bv("node", "job", "eth-1", command, "node").out == f"{message}\n"
    assert daemon.called(rpc) == [pb.NodeJobRef(id_or_name="eth-1", job="node")]
    result = bv("node", "job", "eth-1", command, "ghost")
    assert (result.code, result.err) == (1, "Error: job `ghost` not found\n")


def test_stop_all_stops_the_running_jobs(bv, daemon):
    assert bv("node", "job", "eth-1", "stop", "--all").out == "Stopped job `node`\n"
    assert [request.job for request in daemon.called("StopNodeJob")] == ["node"]
    for wrong in ([], ["node", "--all"]):
        result = bv("node", "job", "eth-1", "stop", *wrong)
        assert (result.code, result.err) == (2, "Error: give the job to stop, or --all\n")


def test_the_job_commands_need_a_node_and_a_command(bv, daemon):
    assert bv("node", "job", "--help").out.startswith("Usage: bv node job NODE COMMAND [ARGS]")
    assert bv("node", "job", "eth-1", "logs", "--help").out.startswith("Usage: bv node job NODE logs")
    result = bv("node", "job", "eth-1", "bogus")
    assert result.code == 2
    assert result.err.startswith('Error: Unknown command "bogus".') and result.err.count("\n") == 1


def test_info(bv, daemon):
    assert bv("node", "job", "eth-1", "info", "download").out == (
        "status:           2023-11-14 22:13:20 UTC| Finished with exit code 0\n"
        "progress:         100.00% (10/10 chunks)\n"
        "restart_count:    0\n"
        "upgrade_blocking: false\n"
        "logs:             <empty>\n"
    )
    logs = bv("node", "job", "eth-1", "info", "node").out.split("logs:")[1]
    assert logs == "             \nline 5\nline 4\nline 3\nline 2\nline 1\n"
    assert bv("node", "job", "eth-1", "info", "download", "--format", "json").json == {
        "name": "download",
        "status": "finished",
        "status_text": "Finished with exit code 0",
        "exit_code": 0,
        "message": None,
        "waiting_for": [],
        "timestamp": "2023-11-14T22:13:20+00:00",
        "progress": {
            "total": 10,
            "current": 10,
            "message": "chunks",
            "bytes_total": 5_000_000_000,
            "bytes_current": 5_000_000_000,
            "bytes_per_second": 80_000_000.0,
        },
        "restart_count": 0,
        "upgrade_blocking": False,
        "logs": [],
    }


def _download_script() -> list[JobInfo]:
    """A download as the daemon reports it, one info per look."""
    running = JobStatus.running()
    return [
        JobInfo(status=JobStatus.pending(["init"]), timestamp=STAMP),
        JobInfo(status=running, timestamp=STAMP, progress=JobProgress(4, 0, "chunks", 4000, 0)),
        JobInfo(status=running, timestamp=STAMP, progress=JobProgress(4, 2, "chunks", 4000, 2000, 1000.0)),
        JobInfo(
            status=JobStatus.finished(0), timestamp=STAMP, progress=JobProgress(4, 4, "chunks", 4000, 4000)
        ),
    ]


@pytest.fixture
def fast_refresh(monkeypatch):
    monkeypatch.setattr(progress, "REFRESH_SECS", 0.01)


def test_info_follow_prints_progress_lines_until_the_job_ends(bv, daemon, fast_refresh):
    daemon.job_infos["download"] = _download_script()
    lines = bv("node", "job", "eth-1", "info", "download", "--follow").out.splitlines()
    assert lines == [
        'Pending (waiting for: ["init"])',
        "Running: 0.00% (0/4 chunks), 0 B of 4.00 kB",
        "Running: 50.00% (2/4 chunks), 2.00 kB of 4.00 kB, 1.00 kB/s, ETA 00:00:02",
        "status:           2023-11-14 22:13:20 UTC| Finished with exit code 0",
        "progress:         100.00% (4/4 chunks)",
        "restart_count:    0",
        "upgrade_blocking: false",
        "logs:             <empty>",
    ]


def test_info_follow_as_json_lines(bv, daemon, fast_refresh):
    daemon.job_infos["download"] = _download_script()
    out = bv("node", "job", "eth-1", "info", "download", "-f", "--format", "json").out
    states = [json.loads(line) for line in out.splitlines()]
    assert [state["status"] for state in states] == ["pending", "running", "running", "finished"]
    assert states[-1]["progress"]["current"] == 4


def test_info_follow_of_an_ended_job_shows_it_at_once(bv, daemon):
    result = bv("node", "job", "eth-1", "info", "download", "--follow")
    assert result.out.startswith("status:           2023-11-14 22:13:20 UTC| Finished with exit code 0\n")


def test_follow_draws_a_bar_on_a_terminal(fast_refresh, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    script = _download_script()
    out = io.StringIO()
    final = follow_job("download", lambda: script.pop(0), out, tty=True, as_json=False)
    assert final.status == JobStatus.finished(0)
    frames = out.getvalue().split("\r\x1b[K")
    assert frames[0] == ""
    assert frames[1] == 'Pending (waiting for: ["init"])'
    assert frames[2] == "[------------------------] 0.00% (0/4 chunks), 0 B of 4.00 kB"
    half = "[############------------] 50.00% (2/4 chunks), 2.00 kB of 4.00 kB, 1.00 kB/s, ETA 00:00:02"
    assert frames[3] == f"{half}\n"


def test_the_bar_fits_the_terminal(fast_refresh, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    script = _download_script()
    out = io.StringIO()
    follow_job("download", lambda: script.pop(0), out, tty=True, as_json=False)
    assert max(len(frame.rstrip("\n")) for frame in out.getvalue().split("\r\x1b[K")) == 39


def test_eta_from_chunks_when_the_job_reports_no_rate():
    meter = progress.EtaMeter()
    assert meter.eta(JobProgress(10, 2, "chunks"), now=100.0) is None
    assert meter.eta(JobProgress(10, 2, "chunks"), now=101.0) is None
    # 4 chunks in 2 s, 4 to go
    assert meter.eta(JobProgress(10, 6, "chunks"), now=102.0) == pytest.approx(2.0)


# -- logs ---------------------------------------------------------------------------------------------------


@pytest.fixture
def jobs_dir(paths):
    folder = paths.node_dir(ETH_ID) / "var" / "lib" / "babel" / "jobs"
    (folder / "node").mkdir(parents=True)
    (folder / "node" / "logs").write_text("".join(f"node {n}\n" for n in range(1, 151)))
    (folder / "download").mkdir()
    (folder / "download" / "logs").write_text("fetched 1\nfetched 2\n")
    (folder / "init").mkdir()  # no logs yet
    return folder


def test_logs_shows_the_last_lines(bv, daemon, jobs_dir):
    lines = bv("node", "job", "eth-1", "logs", "node").out.splitlines()
    assert lines == [f"node {n}" for n in range(51, 151)]
    assert bv("node", "job", "eth-1", "logs", "node", "-n", "2").out == "node 149\nnode 150\n"
    assert bv("node", "job", "eth-1", "logs", "node", "--lines", "0").out == ""
    assert bv("node", "job", "eth-1", "logs", "init").out == ""


def test_logs_of_every_job_have_headers(bv, daemon, jobs_dir):
    assert bv("node", "job", "eth-1", "logs", "-n", "1").out == (
        "==> download <==\nfetched 2\n\n==> node <==\nnode 150\n"
    )
    assert bv("node", "job", "eth-1", "logs", "-n", "1", "--format", "json").json == [
        {"job": "download", "line": "fetched 2"},
        {"job": "node", "line": "node 150"},
    ]


def test_logs_of_an_unknown_job(bv, daemon, jobs_dir):
    result = bv("node", "job", "eth-1", "logs", "ghost")
    assert (result.code, result.err) == (1, "Error: No logs for 'ghost' job found!\n")


def test_logs_of_a_node_without_any(bv, daemon, paths):
    for follow in ([], ["-f"]):
        result = bv("node", "job", "eth-1", "logs", *follow)
        assert (result.code, result.err) == (1, "Error: No job logs found for node `eth-1`\n")


def test_logs_follow_shows_appended_lines_across_a_rotation(daemon, jobs_dir):
    log = jobs_dir / "node" / "logs"
    process = bv_process("node", "job", "eth-1", "logs", "node", "-n", "1", "-f")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()

    def next_line() -> str:
        return lines.get(timeout=10).rstrip("\n")

    def append(text: str) -> None:
        def write() -> None:
            with log.open("a") as file:
                file.write(text)

        threading.Thread(target=write).start()

    try:
        assert next_line() == "node 150"
        append("node 151\nnode 1")
        assert next_line() == "node 151"
        time.sleep(0.3)
        append("52\n")
        assert next_line() == "node 152"
        log.rename(log.with_name(".logs.rotating"))  # as the agent rotates it
        log.write_text("after rotation\n")
        assert next_line() == "after rotation"
    finally:
        process.terminate()
        process.wait(timeout=10)
