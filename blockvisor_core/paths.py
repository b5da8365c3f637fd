"""Every host path of BlockVisor, under one root folder.

The daemon, `bv` and the tests all resolve host paths through `Paths`, so pointing `BV_ROOT` at a
temporary folder runs the real code against a sandbox (spec conventions, §9). The layout under the root
is the original's: `ROOT/etc/blockvisor.json`, `ROOT/var/lib/blockvisor/...`.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import platformdirs

#: The environment variable that selects the root folder.
ROOT_VARIABLE = "BV_ROOT"


@attrs.frozen
class Paths:
    """The host paths under `root`."""

    root: Path

    @classmethod
    def from_env(cls) -> Paths:
        """The root `BV_ROOT` names (made absolute, so a later `chdir` cannot move it); otherwise `/` for
        the superuser, and a per-user data folder for anyone else, so a developer's `bv` and daemon work
        without root and without touching the system's `/etc`."""
        if value := os.environ.get(ROOT_VARIABLE):
            return cls(Path(value).absolute())
        if os.geteuid() == 0:
            return cls(Path("/"))
        return cls(platformdirs.user_data_path("blockvisor"))

    @property
    def config(self) -> Path:
        """The host config, `ROOT/etc/blockvisor.json` (§2.2)."""
        return self.root / "etc" / "blockvisor.json"

    @property
    def var(self) -> Path:
        """The daemon's state folder, `ROOT/var/lib/blockvisor`."""
        return self.root / "var" / "lib" / "blockvisor"

    @property
    def nodes(self) -> Path:
        """The folder of node folders, `VAR/nodes`."""
        return self.var / "nodes"

    def node_dir(self, node_id: str) -> Path:
        """One node's folder, `VAR/nodes/<id>`; an id that is not a plain file name is refused, so no id
        can point outside the nodes folder."""
        if not node_id or node_id in (".", "..") or "/" in node_id or "\0" in node_id:
            raise ValueError(f"invalid node id {node_id!r}")
        return self.nodes / node_id

    @property
    def scheduler_state(self) -> Path:
        """The nodes manager state (scheduled tasks), `VAR/nodes/state.json`."""
        return self.nodes / "state.json"

    @property
    def socket(self) -> Path:
        """The Unix socket of the daemon's local API, `VAR/blockvisor.socket`."""
        return self.var / "blockvisor.socket"

    @property
    def secrets(self) -> Path:
        """The local secret store of standalone mode, `VAR/secrets`."""
        return self.var / "secrets"

    @property
    def images(self) -> Path:
        """The host's own node image folder, searched first by default, `VAR/images`."""
        return self.var / "images"

    @property
    def archives(self) -> Path:
        """The default archive store of the host's nodes, a local folder, `VAR/archives`."""
        return self.var / "archives"

    @property
    def logs(self) -> Path:
        """The daemon's log folder, `ROOT/var/log/blockvisor`."""
        return self.root / "var" / "log" / "blockvisor"


def babel_dir(node_dir: Path) -> Path:
    """The node agent's state folder in a node's folder: `babel.conf` and `jobs/`."""
    return node_dir / "var" / "lib" / "babel"


def archive_config(node_dir: Path) -> Path:
    """A node's archive config, `var/lib/babel/archive.json` in its folder: the archive store and the
    dataset (`store_key`) of the node's archive. The nodes manager writes it; the snapshots plugin builds
    the node's archive from it."""
    return babel_dir(node_dir) / "archive.json"
