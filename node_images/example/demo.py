"""`make demo`: the example node image run by a local BlockVisor, driven as an operator drives it.

The demo types the `bv` commands an operator would (each is shown before it runs), against a BlockVisor
root of its own (`BV_ROOT`: `.demo` in the repository, or `--root`), so nothing outside it is touched:
it sets the host up when needed, starts the daemon, creates the node `demo-node` from
`node_images/example` (the daemon runs it in the best runtime present) and starts it, then shows
`bv node info` every 2 seconds, the block height rising, until Ctrl-C, when it stops the node and the
daemon. The node stays in the root: the next run starts it again, and its chain continues from the
height it had.

With `--once` it waits until the height has risen, shows `bv node info` once, then stops and deletes the
node and stops the daemon: exit code 0, or 1 with the reason when something failed (the daemon is
stopped either way).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from blockvisor_core.paths import ROOT_VARIABLE, Paths

REPOSITORY = Path(__file__).resolve().parents[2]
IMAGE = "node_images/example"
NODE = "demo-node"
#: `bv` of the Python running the demo (the repository's virtualenv).
BV = Path(sys.executable).parent / "bv"

#: Seconds between two `bv node info` while watching, and between two looks at the height with --once.
WATCH_SECS = 2.0
POLL_SECS = 1.0


class DemoError(Exception):
    """A step of the demo that failed; the text says which and why."""


def bv(*args: str, quiet: bool = False) -> str:
    """Run `bv args` (on the root `BV_ROOT` names) and return its output; shown (command and output)
    unless `quiet`. A failing command is a DemoError carrying its error output."""
    if not quiet:
        print(f"$ bv {shlex.join(args)}", flush=True)
    result = subprocess.run(
        [str(BV), *args],
        cwd=REPOSITORY,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DemoError(
            f"`bv {shlex.join(args)}` failed (exit code {result.returncode}): {result.stderr.strip()}"
        )
    if not quiet and result.stdout:
        print(result.stdout, end="", flush=True)
    return result.stdout


def demo_node() -> dict | None:
    """`bv node info` of the demo node as JSON, or None when there is no such node."""
    nodes = json.loads(bv("node", "list", "--format", "json", quiet=True))
    if not any(node["name"] == NODE for node in nodes):
        return None
    return json.loads(bv("node", "info", NODE, "--format", "json", quiet=True))


def set_up(root: Path) -> None:
    """A host config for `root` when it has none, the daemon running, the demo node running."""
    if not Paths(root).config.exists():
        bv("config", "init")
    bv("start")
    node = demo_node()
    if node is None:
        bv("node", "create", IMAGE, "--name", NODE)
    if node is None or node["status"] != "running":
        bv("node", "start", NODE)


def watch() -> None:
    """Show `bv node info` every WATCH_SECS seconds, until Ctrl-C."""
    print("Ctrl-C stops the demo.", flush=True)
    while True:
        time.sleep(WATCH_SECS)
        print(flush=True)
        bv("node", "info", NODE)


def wait_for_blocks(timeout: float) -> None:
    """Return once the node's height is above 0 and has risen since first seen; DemoError after
    `timeout` seconds, or as soon as the node has failed."""
    deadline = time.monotonic() + timeout
    first = None
    print(f"Waiting for {NODE} to produce blocks...", flush=True)
    while time.monotonic() < deadline:
        node = demo_node()
        if node is None or node["status"] == "failed":
            raise DemoError(f"{NODE} is {'gone' if node is None else 'failed'}")
        height = node["metrics"]["height"]
        if height:
            if first is None:
                first = height
            elif height > first:
                return
        time.sleep(POLL_SECS)
    raise DemoError(f"the height of {NODE} did not rise within {timeout:.0f} s")


def attempt(*args: str) -> bool:
    """Run `bv args` as `bv()` does, but print a failure instead of raising it; whether it succeeded."""
    try:
        bv(*args)
    except DemoError as error:
        print(f"Error: {error}", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--once",
        action="store_true",
        help="show the node once its height rose, then stop and delete everything",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=REPOSITORY / ".demo",
        help="the BlockVisor root (BV_ROOT) to run in (default: .demo in the repository)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="with --once: seconds to wait for the height (default 120)",
    )
    args = parser.parse_args(argv)
    # Killed (by a timeout, a CI job that ends) as if Ctrl-C: the node and the daemon are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    root = args.root.absolute()
    os.environ[ROOT_VARIABLE] = str(root)
    print(f"BlockVisor root: {root} (export {ROOT_VARIABLE}={root} to run bv commands on it)", flush=True)
    succeeded = False
    try:
        set_up(root)
        if args.once:
            wait_for_blocks(args.timeout)
            succeeded = True
        else:
            watch()
    except KeyboardInterrupt:
        print("\nStopping the demo.", flush=True)
        succeeded = not args.once
    except DemoError as error:
        print(f"Error: {error}", file=sys.stderr)
    # With --once, and after a failure (when what the node did is the first thing to look at).
    if args.once or not succeeded:
        attempt("node", "info", NODE)
    # Every step of the tear-down is tried: a node that cannot be stopped does not leave the daemon running.
    steps = [("node", "stop", NODE), *([("node", "delete", NODE, "--yes")] if args.once else []), ("stop",)]
    cleaned_up = [attempt(*step) for step in steps]
    return 0 if succeeded and all(cleaned_up) else 1


if __name__ == "__main__":
    sys.exit(main())
