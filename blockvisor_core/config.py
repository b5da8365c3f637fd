"""The host config, `ROOT/etc/blockvisor.json` (spec §2.2), and its two modes.

The file is the original's flat JSON object, plus the fields of this project. `mode` says where nodes,
images and secrets come from:

* `standalone` (the default): no control plane. Images come from local folders (`image_dirs`), secrets
  from the local encrypted store, and the control-plane fields (`id`, `token`, `refresh_token`,
  `nodexeus_api_url`) may be absent;
* `connected`: the host is registered with the Nodexeus API, and those four fields are required.

Parsing goes through `babel_api.shapes`, the one converter of the project, so a malformed file gives one
error that names the file and the field: `/etc/blockvisor.json: blockvisor_port: expected an unsigned
16-bit integer (0 to 65535), got 70000`. Unlike the original, loading never writes the file back, and a
save is one atomic replace (no `_bak` rename dance).
"""

from __future__ import annotations

import enum
import ipaddress
import json
import socket
from pathlib import Path
from typing import Annotated, Any, Self

import attrs

from babel_api.shapes import OMIT_IF_NONE, IntRange, JsonShape, ShapeError, UInt16, UInt64, structure
from blockvisor_core.files import write_atomic
from blockvisor_core.paths import Paths

#: The example images of this repository, searched after the host's own images when present.
REPOSITORY_IMAGES = Path(__file__).resolve().parents[1] / "node_images"


class ConfigError(ValueError):
    """The host config is missing or malformed; the text names the file and, when known, the field."""


@attrs.frozen
class _Ipv4Address:
    """`Annotated` check: the string is an IPv4 address (the original's `Ipv4Addr`)."""

    def check(self, value: str) -> str | None:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return f"expected an IPv4 address, got {value!r}"
        return None


@attrs.frozen
class _Network:
    """`Annotated` check: the string is a network in CIDR notation with no host bits set."""

    def check(self, value: str) -> str | None:
        try:
            ipaddress.ip_network(value)
        except ValueError as error:
            return f"expected a network in CIDR notation (e.g. 10.89.0.0/24), got {value!r}: {error}"
        return None


Ipv4Address = Annotated[str, _Ipv4Address()]
Network = Annotated[str, _Network()]
PrefixLength = Annotated[int, IntRange("an IPv4 prefix length", 0, 32)]


class Mode(enum.StrEnum):
    """Where nodes, images and secrets come from (see the module text)."""

    STANDALONE = "standalone"
    CONNECTED = "connected"


@attrs.frozen
class NetConf(JsonShape):
    """The host network nodes take their addresses from (§2.3); `host_ip` 0.0.0.0 means "not detected"."""

    gateway_ip: Ipv4Address = "0.0.0.0"
    host_ip: Ipv4Address = "0.0.0.0"
    prefix: PrefixLength = 32
    available_ips: list[Ipv4Address] = attrs.Factory(list)


@attrs.frozen
class ApptainerConfig(JsonShape):
    """Host-wide settings of the Apptainer runtime. Optional in the file (the original required it, §11)."""

    extra_args: list[str] | None = None
    host_network: bool = False
    cpu_limit: bool = True
    memory_limit: bool = True


@attrs.frozen
class HostConfig(JsonShape):
    """The contents of `blockvisor.json`: the original's fields (§2.2), then this project's."""

    id: str | None = None
    org_id: str | None = None
    private_org_id: str | None = None
    name: str = attrs.Factory(socket.gethostname)
    token: str | None = None
    refresh_token: str | None = None
    nodexeus_api_url: str | None = None
    nodexeus_mqtt_url: str | None = None
    #: Seconds between self-update checks; null disables self-update.
    update_check_interval_secs: UInt64 | None = None
    #: Port of the original's internal RPC; 0 picks a free port.
    blockvisor_port: UInt16 = 9001
    #: The host interface whose network `net_conf` is detected from (§2.3).
    iface: str = "br0"
    net_conf: NetConf = attrs.Factory(NetConf)
    cluster_id: str | None = None
    cluster_port: UInt16 | None = None
    cluster_seed_urls: list[str] | None = None
    apptainer: ApptainerConfig = attrs.Factory(ApptainerConfig)
    #: Skip the resource checks of create and upgrade.
    maintenance_mode: bool = False
    mode: Mode = Mode.STANDALONE
    #: Folders searched for `protocol/variant[/version]` image references, in order; null means
    #: `default_image_dirs`. A relative entry is relative to the root.
    image_dirs: list[str] | None = None
    #: The runtime plugin nodes run on; null picks the best one available.
    runtime: str | None = None
    #: The host bridge node networks attach to.
    bridge: str = "bvbr0"
    #: The pool node addresses come from when the host has no bridge network configured. Host side
    #: only: never used for external traffic.
    node_network: Network = "10.89.0.0/24"
    #: Nodes share the host's network instead of a network of their own.
    host_network: bool = False
    #: The archive store the nodes of this host share (the snapshots they download and upload), as the
    #: map of the archive store plugin of its `kind`: `{"kind": "local", "path": "/srv/archives"}`, or
    #: `{"kind": "s3", "endpoint": URL, "region": ..., "bucket": ..., "access_key": ..., "secret_key": ...}`;
    #: null means the local folder `VAR/archives`. A relative `path` of a local store is relative to the
    #: root. Left out of the file while null.
    archive_store: dict[str, Any] | None = attrs.field(default=None, metadata={OMIT_IF_NONE: True})

    def __attrs_post_init__(self) -> None:
        """Fields required by other fields: the control-plane ones in connected mode, seeds of a cluster,
        the kind of an archive store (the plugin of that kind checks the rest when a node needs it)."""
        if self.mode is Mode.CONNECTED:
            for name in ("id", "token", "refresh_token", "nodexeus_api_url"):
                if getattr(self, name) is None:
                    raise ValueError(f'{name}: missing required field (mode is "connected")')
        if self.cluster_id is not None and self.cluster_seed_urls is None:
            raise ValueError("cluster_seed_urls: missing required field (cluster_id is set)")
        if self.archive_store is not None:
            kind = self.archive_store.get("kind")
            if not isinstance(kind, str) or not kind:
                raise ValueError(
                    'archive_store.kind: expected the name of an archive store kind (e.g. "local" or '
                    f'"s3"), got {json.dumps(kind)}'
                )

    @classmethod
    def default(cls, name: str) -> Self:
        """A fresh standalone config for the host `name`, every other field at its default."""
        return cls(name=name)

    def image_search_path(self, paths: Paths) -> list[Path]:
        """The folders searched for image references: `image_dirs`, or the defaults when it is null."""
        if self.image_dirs is None:
            return default_image_dirs(paths)
        return [paths.root / Path(folder).expanduser() for folder in self.image_dirs]

    def archive_store_config(self, paths: Paths) -> dict[str, Any]:
        """The store config a node's archive config holds: `archive_store` with a local store's path
        made absolute, or the local folder `VAR/archives` when it is null, so that a single host keeps
        archives with no set-up."""
        store = self.archive_store
        if store is None:
            return {"kind": "local", "path": str(paths.archives)}
        if store["kind"] == "local" and isinstance(store.get("path"), str) and store["path"]:
            return {**store, "path": str(paths.root / Path(store["path"]).expanduser())}
        return dict(store)


def default_image_dirs(paths: Paths) -> list[Path]:
    """The host's image folder `VAR/images`, then this repository's `node_images/` when it exists (a
    source checkout or an editable install), so the example images work out of the box."""
    return [paths.images, *([REPOSITORY_IMAGES] if REPOSITORY_IMAGES.is_dir() else [])]


def load(paths: Paths) -> HostConfig:
    """Read and check the host config; any problem is one `ConfigError` naming the file and the field.

    Loading never changes the file: network detection and token refresh save explicitly."""
    file = paths.config
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"no host config at {file}; create one with `bv config init`, or write it by hand "
            f"(the root folder is {paths.root}; set BV_ROOT to use another)"
        ) from None
    except OSError as error:
        raise ConfigError(f"{file}: cannot read the host config: {error.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{file}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from None
    try:
        return structure(HostConfig, value)
    except ShapeError as error:
        raise ConfigError(f"{file}: {error}") from None


def save(paths: Paths, config: HostConfig) -> None:
    """Replace the host config atomically. Owner-only (0600): it holds the host's API tokens."""
    write_atomic(paths.config, json.dumps(config.to_json(), indent=2) + "\n", mode=0o600)


def init_config(paths: Paths) -> HostConfig:
    """The host config, created as a default standalone config named after this machine when missing.

    An existing file is loaded, never overwritten, so a malformed one still fails with its error."""
    if paths.config.exists():
        return load(paths)
    config = HostConfig.default(socket.gethostname())
    save(paths, config)
    return config
