"""A recording fake `apptainer`, installed as `<bin>/apptainer` by the tests (first on PATH).

Every call appends its arguments (a JSON list) to `<bin>/calls.jsonl` and acts just enough like
Apptainer for the runtime to go through a node's life: `build` makes the sandbox folder, `inspect`
describes it, `instance run` starts a stand-in process and writes its pid file, `instance list` shows
live instances (JSON or table), `instance stop` ends them, `exec ... instance://<id> CMD` runs CMD on
the host. `<bin>/fail` holding a subcommand name (`instance stop`) makes that subcommand fail without
acting; holding the name and ` after` (`instance stop after`), fail after acting.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTANCES = HERE / "instances"


def main(args: list[str]) -> int:
    with (HERE / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps(args) + "\n")
    command = " ".join(args[:2]) if args[:1] == ["instance"] else args[0]
    fail = HERE / "fail"
    failure = fail.read_text().strip() if fail.exists() else ""
    if failure == command:
        print(f"FATAL: {command} failed (as the test asked)", file=sys.stderr)
        return 255
    handler = {
        "build": build,
        "inspect": inspect,
        "exec": exec_,
        "instance run": instance_run,
        "instance list": instance_list,
        "instance stop": instance_stop,
    }.get(command)
    if handler is None:
        print(f"FATAL: unknown command {command}", file=sys.stderr)
        return 255
    code = handler(args)
    if failure == f"{command} after":
        print(f"FATAL: {command} failed after acting (as the test asked)", file=sys.stderr)
        return 255
    return code


def build(args: list[str]) -> int:
    sandbox, uri = Path(args[-2]), args[-1]
    (sandbox / ".singularity.d").mkdir(parents=True, exist_ok=True)
    (sandbox / ".singularity.d/Singularity").write_text(f"bootstrap: docker\nfrom: {uri}\n")
    return 0


def inspect(args: list[str]) -> int:
    deffile = Path(args[-1]) / ".singularity.d/Singularity"
    attributes = {"deffile": deffile.read_text()} if deffile.exists() else {}
    print(json.dumps({"data": {"attributes": attributes}, "type": "container"}))
    return 0


def instance_run(args: list[str]) -> int:
    rootfs, name = args[-2], args[-1]
    stand_in = subprocess.Popen(
        ["sleep", "3600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    if "--pid-file" in args:
        Path(args[args.index("--pid-file") + 1]).write_text(f"{stand_in.pid}\n")
    INSTANCES.mkdir(exist_ok=True)
    (INSTANCES / name).write_text(json.dumps({"instance": name, "pid": stand_in.pid, "img": rootfs}))
    return 0


def _live() -> dict[str, dict]:
    live = {}
    for path in sorted(INSTANCES.glob("*")) if INSTANCES.exists() else []:
        instance = json.loads(path.read_text())
        if _state(instance["pid"]) not in ("Z", "X"):
            live[instance["instance"]] = instance
    return live


def instance_list(args: list[str]) -> int:
    names = [arg for arg in args[2:] if not arg.startswith("-")]
    shown = [instance for name, instance in _live().items() if not names or name in names]
    if "--json" in args:
        print(json.dumps({"instances": [{**i, "ip": "", "logErrPath": "", "logOutPath": ""} for i in shown]}))
    else:
        print("INSTANCE NAME    PID      IP    IMAGE")
        for instance in shown:
            print(f"{instance['instance']}    {instance['pid']}          {instance['img']}")
    return 0


def instance_stop(args: list[str]) -> int:
    name = args[-1]
    instance = _live().get(name)
    if instance is None:
        print(f"FATAL: no instance found with name {name}", file=sys.stderr)
        return 255
    os.kill(instance["pid"], signal.SIGKILL if "--force" in args else signal.SIGTERM)
    while _state(instance["pid"]) not in ("Z", "X"):
        time.sleep(0.01)
    (INSTANCES / name).unlink()
    return 0


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


def exec_(args: list[str]) -> int:
    target = next(index for index, arg in enumerate(args) if arg.startswith("instance://"))
    name = args[target].removeprefix("instance://")
    if name not in _live():
        print(f"FATAL: instance {name} not running", file=sys.stderr)
        return 255
    command = args[target + 1 :]
    try:
        os.execvp(command[0], command)
    except OSError as error:
        print(f"FATAL: {command[0]}: {error.strerror}", file=sys.stderr)
    return 255


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
