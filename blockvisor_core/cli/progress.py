"""Following a job until it ends (`bv node job <node> info <job> --follow`).

On a terminal one line is redrawn in place: a bar, the chunks and bytes done of their totals, the rate
and the time left. Anywhere else (a pipe, a log file) each change is a plain line of its own, and with
`--format json` each change is one JSON object per line. A download or upload job reports its byte
totals and rate itself; for any other job the time left is estimated from the chunks it finished while
being followed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from blockvisor_core.cli import render

if TYPE_CHECKING:
    from babel_api.models import JobInfo, JobProgress

#: Seconds between two looks at the job.
REFRESH_SECS = 0.5

#: Characters of the bar between its brackets.
BAR_WIDTH = 24

#: The statuses of a job that has not ended yet.
ACTIVE = ("pending", "running")


class EtaMeter:
    """Estimates the seconds a job has left: from its own byte rate when it reports one, otherwise from the
    chunks it finished since the meter first saw it."""

    def __init__(self) -> None:
        self._first: tuple[float, int] | None = None

    def eta(self, progress: JobProgress, now: float) -> float | None:
        if progress.bytes_per_second and progress.bytes_total is not None:
            left = max(0, progress.bytes_total - (progress.bytes_current or 0))
            return left / progress.bytes_per_second
        if self._first is None or progress.current < self._first[1]:
            self._first = (now, progress.current)
            return None
        started, done_then = self._first
        done = progress.current - done_then
        if done <= 0 or now <= started:
            return None
        return max(0, progress.total - progress.current) * (now - started) / done


def describe(progress: JobProgress, eta: float | None) -> str:
    """`42.00% (21/50 chunks), 1.20 GB of 2.86 GB, 45.30 MB/s, ETA 00:00:37`: what is known, no more."""
    parts = [str(progress)]
    if progress.bytes_total is not None:
        parts.append(f"{render.size(progress.bytes_current or 0)} of {render.size(progress.bytes_total)}")
    if progress.bytes_per_second is not None:
        parts.append(f"{render.size(progress.bytes_per_second)}/s")
    if eta is not None:
        parts.append(f"ETA {render.duration(eta)}")
    return ", ".join(parts)


def bar(progress: JobProgress) -> str:
    """`[##########--------------]`, by bytes when the job reports them, else by chunks."""
    if progress.bytes_total:
        fraction = (progress.bytes_current or 0) / progress.bytes_total
    else:
        fraction = progress.current / progress.total if progress.total else 0.0
    filled = round(BAR_WIDTH * min(1.0, max(0.0, fraction)))
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}]"


def progress_line(info: JobInfo, eta: float | None, with_bar: bool) -> str:
    """One line on where an active job stands."""
    if info.status.kind != "running":
        return str(info.status)
    if info.progress is None:
        return "Running (no progress reported)"
    text = describe(info.progress, eta)
    return f"{bar(info.progress)} {text}" if with_bar else f"Running: {text}"


def follow_job(
    name: str,
    fetch: Callable[[], JobInfo],
    out: TextIO,
    *,
    tty: bool,
    as_json: bool,
) -> JobInfo:
    """Show job `name`'s progress (`fetch` asks for its info) until it is neither pending nor running,
    and return its final info. In JSON mode the final state is written too, as the last line."""
    meter = EtaMeter()
    last = ""
    drawn = False
    try:
        while True:
            info = fetch()
            active = info.status.kind in ACTIVE
            if as_json:
                last = _write_changed(out, render.dumps_line(render.job_json(name, info)), last)
            elif active:
                eta = meter.eta(info.progress, time.monotonic()) if info.progress is not None else None
                line = progress_line(info, eta, with_bar=tty)
                if tty:
                    out.write(f"\r\x1b[K{line[: shutil.get_terminal_size().columns - 1]}")
                    out.flush()
                    drawn = True
                else:
                    last = _write_changed(out, line, last)
            if not active:
                return info
            time.sleep(REFRESH_SECS)
    finally:
        if drawn:  # whatever comes next starts on a line of its own
            out.write("\n")
            out.flush()


def _write_changed(out: TextIO, line: str, last: str) -> str:
    """Write `line` unless it repeats `last`; the line now last written."""
    if line != last:
        out.write(f"{line}\n")
        out.flush()
    return line
