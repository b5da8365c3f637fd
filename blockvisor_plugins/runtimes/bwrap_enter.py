"""The host side of the bwrap runtime's process handling: enter a running node, or launch its sandbox.

Run as a script, never imported by the runtime (`python -I -S bwrap_enter.py ...`): standard library
only, so it starts in milliseconds and needs no package on `sys.path`.

    bwrap_enter.py [--cgroup DIR]... --target PID:START -- ARGV...
        Run ARGV inside the node whose sandbox init is PID (started at START clock ticks after boot,
        so a reused pid is refused): join the node's cgroups, enter its IPC, UTS, network, PID and
        mount namespaces and its root, fork, drop the capabilities a node never gets, exec ARGV.
        This process stays as ARGV's parent and ends the way ARGV ends (exit status, or the same
        signal), so the agent can treat it as the command itself: its command line is the agent's
        argv, it leads the agent's process group, and a signal to that group reaches ARGV too.
        Exit status 125: the node is not running.

    bwrap_enter.py [--cgroup DIR]... [--netns FILE] --detach -- ARGV...
        Launch ARGV (the sandbox's `bwrap`) in the node's cgroups and network namespace, in a new
        session, detached: this process returns at once and ARGV outlives whoever started it.

Why not `nsenter`: it would leave the node's commands in the agent's cgroup (so the node's limits
would not bind its services) and with every capability of the host's root (enough to leave the
sandbox), and it cannot tell a reused pid from the node's init.
"""

import ctypes
import os
import resource
import signal
import sys

NOT_RUNNING = 125

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
#: In the order nsenter enters them: the mount namespace last, once /proc is no longer needed.
_NAMESPACES = (("ipc", _CLONE_NEWIPC), ("uts", _CLONE_NEWUTS), ("net", _CLONE_NEWNET), ("pid", _CLONE_NEWPID))

#: The capabilities a node's processes keep: Docker's default set without CAP_MKNOD (no device cgroup
#: guards the node's devices). Without CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_NET_ADMIN
#: and the rest, root inside the node can neither mount, nor reach the host through handles or ptrace,
#: nor reconfigure its network.
KEPT_CAPABILITIES = frozenset(
    {
        0,  # CAP_CHOWN
        1,  # CAP_DAC_OVERRIDE
        3,  # CAP_FOWNER
        4,  # CAP_FSETID
        5,  # CAP_KILL
        6,  # CAP_SETGID
        7,  # CAP_SETUID
        8,  # CAP_SETPCAP
        10,  # CAP_NET_BIND_SERVICE
        13,  # CAP_NET_RAW
        18,  # CAP_SYS_CHROOT
        29,  # CAP_AUDIT_WRITE
        31,  # CAP_SETFCAP
    }
)

_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


class Refused(Exception):
    """The command cannot run: the message goes to standard error, `code` is the exit status."""

    def __init__(self, message: str, code: int = NOT_RUNNING) -> None:
        super().__init__(message)
        self.code = code


def start_time(pid: int) -> int | None:
    """Clock ticks after boot at which `pid` started (field 22 of /proc/PID/stat); None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            fields = file.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == b"Z" else int(fields[19])


def _check(result: int, what: str) -> None:
    if result != 0:
        raise Refused(f"{what}: {os.strerror(ctypes.get_errno())}", 126)


def _join_cgroups(cgroups: list[str]) -> None:
    for folder in cgroups:
        with open(os.path.join(folder, "cgroup.procs"), "w") as file:
            file.write(str(os.getpid()))


def _enter_network(netns: str) -> None:
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, _CLONE_NEWNET), f"entering the network namespace {netns}")
    finally:
        os.close(fd)


def _open_node(pid: int, start: int) -> tuple[list[tuple[int, int]], int]:
    """File descriptors of the node init's namespaces and root, after checking the init is the node's."""
    if start_time(pid) != start:
        raise Refused(f"the node is not running (its sandbox init {pid} is gone)")
    try:
        namespaces = [
            (os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), flag)
            for name, flag in _NAMESPACES
        ]
        namespaces.append((os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC), _CLONE_NEWNS))
        root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise Refused(f"the node is not running (its sandbox init {pid}: {error.strerror})") from None
    # Checked again: the handles were opened on the init itself, not on a process that took its pid.
    if start_time(pid) != start:
        raise Refused(f"the node is not running (its sandbox init {pid} is gone)")
    return namespaces, root


def _drop_capabilities() -> None:
    with open("/proc/sys/kernel/cap_last_cap") as file:
        last = int(file.read())
    for number in range(last + 1):
        if number not in KEPT_CAPABILITIES:
            _check(_libc.prctl(_PR_CAPBSET_DROP, number, 0, 0, 0), f"dropping capability {number}")
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    mask = sum(1 << number for number in KEPT_CAPABILITIES)
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)(_CapData(mask, mask, mask), _CapData(0, 0, 0))
    _check(_libc.capset(ctypes.byref(header), data), "setting capabilities")


def enter(pid: int, start: int, cgroups: list[str], argv: list[str]) -> int:
    """Run `argv` inside the node; its exit status (a death by signal is passed on as that signal)."""
    namespaces, root = _open_node(pid, start)
    _join_cgroups(cgroups)
    for fd, flag in namespaces:
        _check(_libc.setns(fd, flag), "entering the node's namespaces")
        os.close(fd)
    os.fchdir(root)
    os.chroot(".")
    os.chdir("/")
    os.close(root)
    child = os.fork()
    if child == 0:
        _exec_in_child(argv)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    number = os.WTERMSIG(status)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if number not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    return 128 + number


def _exec_in_child(argv: list[str]) -> None:
    try:
        _drop_capabilities()
        # Python ignores these; the node's command must get the usual dispositions.
        for number in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
            signal.signal(number, signal.SIG_DFL)
        exec_path(argv)
    except Refused as error:
        print(f"bwrap_enter: {error}", file=sys.stderr)
        os._exit(error.code)
    except OSError as error:
        print(f"bwrap_enter: {argv[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127 if isinstance(error, FileNotFoundError) else 126)
    except BaseException:
        os._exit(126)


def exec_path(argv: list[str]) -> None:
    """`execvp` without `os.execvp`, which imports modules lazily: inside the node's root, the host's
    Python library is out of sight."""
    if "/" in argv[0]:
        os.execv(argv[0], argv)
    failure: OSError = FileNotFoundError(2, "not found")
    for folder in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        try:
            os.execv(os.path.join(folder or ".", argv[0]), argv)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as error:
            failure = error  # kept, as execvp does, unless a later folder has it
    raise failure


def detach(cgroups: list[str], netns: str | None, argv: list[str]) -> int:
    """Start `argv` in the node's cgroups and network namespace, in a session of its own; return at once."""
    _join_cgroups(cgroups)
    if netns is not None:
        _enter_network(netns)
    if os.fork() > 0:
        return 0
    os.setsid()
    try:
        exec_path(argv)
    except OSError as error:
        print(f"bwrap_enter: {argv[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127)
    return 0  # not reached


def _parse(args: list[str]) -> tuple[dict, list[str]]:
    if "--" not in args:
        raise Refused("usage: bwrap_enter.py [--cgroup DIR]... (--target PID:START | --detach) -- ARGV...", 2)
    split = args.index("--")
    options, argv = args[:split], args[split + 1 :]
    parsed: dict = {"cgroups": [], "netns": None, "target": None, "detach": False}
    words = iter(options)
    for word in words:
        if word == "--cgroup":
            parsed["cgroups"].append(next(words))
        elif word == "--netns":
            parsed["netns"] = next(words)
        elif word == "--target":
            pid, start = next(words).split(":")
            parsed["target"] = (int(pid), int(start))
        elif word == "--detach":
            parsed["detach"] = True
        else:
            raise Refused(f"unknown option {word}", 2)
    if not argv or (parsed["target"] is None) == (not parsed["detach"]):
        raise Refused("give a command and exactly one of --target and --detach", 2)
    return parsed, argv


def main(args: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        options, argv = _parse(args)
        if options["detach"]:
            return detach(options["cgroups"], options["netns"], argv)
        pid, start = options["target"]
        return enter(pid, start, options["cgroups"], argv)
    except Refused as error:
        print(f"bwrap_enter: {error}", file=sys.stderr)
        return error.code
    except OSError as error:
        print(f"bwrap_enter: {error}", file=sys.stderr)
        return 126


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
