"""A node's job logs read from the host, as `tail -n N [-f]` would show them, without spawning `tail`.

A job's output lives in `<node_dir>/var/lib/babel/jobs/<job>/logs`. The agent rotates that file by
renaming it and starting a new one, so following watches the path: when the path names another file,
the rest of the old one is read first, then the new one from its start.
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from blockvisor_core.cli import render
from blockvisor_core.cli.errors import CliError
from blockvisor_core.paths import babel_dir

#: Seconds between two looks at followed files.
POLL_SECS = 0.25

#: Bytes read at a time when searching a file backwards for its last lines.
BLOCK_BYTES = 64 * 1024


def job_logs(node_dir: Path, job: str | None) -> list["LogFile"]:
    """The log of `job`, or of every job that has one; a job without a folder is an error."""
    jobs = babel_dir(node_dir) / "jobs"
    if job is not None:
        if not (jobs / job).is_dir():
            raise CliError(f"No logs for '{job}' job found!")
        return [LogFile(job, jobs / job / "logs")]
    if not jobs.is_dir():
        return []
    return [
        LogFile(folder.name, folder / "logs")
        for folder in sorted(jobs.iterdir())
        if (folder / "logs").is_file()
    ]


class LogFile:
    """One job's log: its last lines, then whatever is appended to it, whole lines only."""

    def __init__(self, job: str, path: Path) -> None:
        self.job = job
        self.path = path
        self._file: BinaryIO | None = None
        self._inode = 0
        self._partial = b""

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def last_lines(self, count: int, keep_open: bool) -> list[str]:
        """The last `count` lines. With `keep_open`, an unfinished last line is left for `new_lines`,
        which then goes on from here."""
        try:
            file = self.path.open("rb")
        except FileNotFoundError:
            return []
        status = os.fstat(file.fileno())
        end = status.st_size
        tail = _tail(file, end, count + 1)
        lines = tail.split(b"\n")
        unfinished = lines.pop()
        if keep_open:
            self._file, self._inode, self._partial = file, status.st_ino, unfinished
            file.seek(end)
        else:
            file.close()
            if unfinished:
                lines.append(unfinished)
        return [_text(line) for line in lines[-count:]] if count > 0 else []

    def new_lines(self) -> list[str]:
        """The lines completed since the last call; a rotated or truncated file is followed."""
        if self._file is None:
            try:
                self._file = self.path.open("rb")
            except FileNotFoundError:
                return []
            self._inode = os.fstat(self._file.fileno()).st_ino
        try:
            status = os.stat(self.path)
        except FileNotFoundError:  # between a rotation's rename and the new file: read on
            status = None
        # Read what the file has before acting on the path's new state: a rotated file is complete.
        lines = self._read()
        if status is not None and status.st_ino != self._inode:
            if self._partial:
                lines.append(_text(self._partial))
                self._partial = b""
            self.close()
            lines.extend(self.new_lines())
        elif status is not None and status.st_size < self._file.tell():  # truncated: start again
            self._file.seek(0)
            self._partial = b""
            lines.extend(self._read())
        return lines

    def _read(self) -> list[str]:
        assert self._file is not None
        data = self._partial + self._file.read()
        *lines, self._partial = data.split(b"\n")
        return [_text(line) for line in lines]


def _tail(file: BinaryIO, end: int, newlines: int) -> bytes:
    """The end of `file` (of `end` bytes) holding at least `newlines` line breaks, or all of it."""
    data = b""
    position = end
    while position > 0 and data.count(b"\n") < newlines:
        step = min(BLOCK_BYTES, position)
        position -= step
        file.seek(position)
        data = file.read(step) + data
    return data


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")


class LogPrinter:
    """Writes log lines as text, with a `==> job <==` header whenever the job changes when there are
    several, or as JSON objects `{"job", "line"}`, one per line."""

    def __init__(self, out: TextIO, as_json: bool, headers: bool) -> None:
        self.out = out
        self.as_json = as_json
        self.headers = headers
        self._job: str | None = None

    def write(self, job: str, lines: list[str]) -> None:
        if not lines:
            return
        if self.as_json:
            self.out.writelines(f"{render.dumps_line({'job': job, 'line': line})}\n" for line in lines)
        else:
            if self.headers and job != self._job:
                if self._job is not None:
                    self.out.write("\n")
                self.out.write(f"==> {job} <==\n")
                self._job = job
            self.out.writelines(f"{line}\n" for line in lines)
        self.out.flush()


def appended_lines(files: list[LogFile]) -> Iterator[tuple[str, list[str]]]:
    """Every job's new lines, forever (until interrupted)."""
    while True:
        for log in files:
            yield log.job, log.new_lines()
        time.sleep(POLL_SECS)
