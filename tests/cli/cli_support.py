"""Helpers of the `bv` tests: a command's outcome, and `bv` run as the installed console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs

#: The installed console script.
BV = Path(sys.executable).parent / "bv"


@attrs.frozen
class Result:
    """What one `bv` command did: exit code, standard output, standard error."""

    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


def bv_process(*args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    """`bv` as the console script, in a process of its own, with this process's environment (BV_ROOT)."""
    return subprocess.Popen(
        [str(BV), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )


def bv_run(*args: str, stdin: str = "", timeout: float = 10) -> Result:
    """Run `bv` as the console script to its end."""
    process = bv_process(*args, stdin=subprocess.PIPE)
    out, err = process.communicate(stdin, timeout=timeout)
    return Result(process.returncode, out, err)
