"""How the node agent reaches into one node: run a command there, map its paths, use its network.

A runtime describes its nodes with a `NodeAccess`, and the agent, which runs on the host with the
host's view of files, uses it for everything it does "inside the node". Every path that comes from a
plugin goes through `host_path`, which refuses whatever would leave the node: `..`, and links, relative
or absolute, that point out of it.
"""

from pathlib import Path, PurePosixPath

import attrs


class OutsideNodeError(PermissionError):
    """A path from a plugin that leads outside the node."""


@attrs.frozen(kw_only=True)
class NodeAccess:
    """What a runtime tells the agent about one node.

    `exec_prefix`: the argv that runs a command inside the node (`[]`: on the host).
    `env`: environment variables for commands run inside the node.
    `user`: the user commands run as when a job names none (None: the agent's own user).
    `cwd`: the node path commands start in, and against which relative paths are read.
    `mounts`: node path prefix -> host folder, for every part of the node's file tree.
    `netns`: the node's network namespace file, or None for the host's network.
    """

    exec_prefix: tuple[str, ...] = ()
    env: dict[str, str] = attrs.field(factory=dict)
    user: str | None = None
    cwd: str = "/"
    mounts: dict[str, Path] = attrs.field(factory=dict)
    netns: Path | None = None

    def command(self, argv: list[str]) -> list[str]:
        """The argv that runs `argv` inside the node."""
        return [*self.exec_prefix, *argv]

    def host_path(self, node_path: str | PurePosixPath) -> Path:
        """The host path of `node_path`, which must stay inside the node once links are followed."""
        path = PurePosixPath(self.cwd) / PurePosixPath(node_path)
        for prefix, folder in sorted(self.mounts.items(), key=lambda mount: -len(mount[0])):
            if path.is_relative_to(prefix):
                inside = path.relative_to(prefix)
                if ".." in inside.parts:
                    raise OutsideNodeError(f"{node_path}: '..' is not allowed in a node path")
                target = (folder / inside).resolve()
                if not target.is_relative_to(folder.resolve()):
                    raise OutsideNodeError(f"{node_path}: leads outside the node (to {target})")
                return target
        raise OutsideNodeError(f"{node_path}: not inside the node's files")
