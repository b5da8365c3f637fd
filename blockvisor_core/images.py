"""Node images from local folders (standalone mode), described by their `babel.yaml` (spec §6.2, §6.3).

An image folder holds:

    babel.yaml    image metadata, properties, variants, resources (the original's schema), plus
                  `plugin:` and `rootfs:` (below)
    plugin/       the Rhai plugin, `main.rhai` and what it imports (the default `plugin.path`)
    <rootfs>      what the node's root filesystem is made from

This project's sections of `babel.yaml`:

    plugin: {loader: rhai, path: plugin}              # the default: a Rhai plugin folder
    plugin: {loader: python, entry_point: NAME}       # an installed Python protocol plugin
    rootfs: {folder: PATH} | {tarball: PATH} | {host: true}

`host: true` gives the node a read-only view of the host's system folders (development images). Every
path is relative to the image folder and must stay inside it.

`babel.yaml` is read with YAML 1.2 semantics (`on`, `off`, `yes`, `no` stay strings), anchors, aliases
and merge keys, and the spec's tags: `!text`, `!password`, `!switch`, `!enum` for a property's `ui_type`,
`!store_key KEY` and `!combination_disallowed` for an archive pointer. A tagged value reads as the
one-key map `{"!tag": data}`, so errors name the tag: `properties[0].ui_type.!enum[1].value`. Unknown keys
are ignored; every error names `babel.yaml:line:column` and the field.

Image references: `find_image` takes a path to an image folder, or `protocol/variant[/version]` looked up
in the image folders of the host config: each folder listed there, and each of its subfolders, that has
a `babel.yaml` is an image; the reference matches an image whose `protocol_key` is `protocol`, which has
a variant `variant`, and whose `version` is `version` — the highest semantic version when none is given.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from babel_api.shapes import JsonShape, ShapeError, UInt16, UInt64, structure, valid_variant

BABEL_YAML = "babel.yaml"

_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?",
    re.ASCII,
)
_SKU = re.compile(r"[A-Z0-9]+-[A-Z0-9]+-[A-Z0-9]+")
_KEBAB = re.compile(r"[a-z0-9-]+")


class ImageError(ValueError):
    """A node image that cannot be found, read or used; the text names the place."""


class ParamsError(ValueError):
    """Node params that the image's properties refuse; the text names the property."""


class Visibility(enum.StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"
    DEVELOPMENT = "development"


class FirewallAction(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REJECT = "reject"


class FirewallProtocol(enum.StrEnum):
    TCP = "tcp"
    UDP = "udp"
    BOTH = "both"


class FirewallDirection(enum.StrEnum):
    IN = "in"
    OUT = "out"


class PluginLoader(enum.StrEnum):
    RHAI = "rhai"
    PYTHON = "python"


@attrs.frozen
class Impact:
    """What choosing a property value costs: a new archive, more CPU, memory or disk (signed)."""

    new_archive: bool = False
    add_cpu: int | None = None
    add_memory_mb: int | None = None
    add_disk_gb: int | None = None


@attrs.frozen
class SwitchImpacts:
    """The impacts of a `!switch` property's two positions."""

    on: Impact | None = None
    off: Impact | None = None


@attrs.frozen
class EnumOption:
    """One value of an `!enum` property."""

    value: str
    name: str
    impact: Impact | None = None


@attrs.frozen
class UiType:
    """How a property is entered; `kind` is its tag. `!text`/`!password` carry an impact (an empty one
    when the tag has no value), `!switch` the impacts of `on` and `off`, `!enum` its options."""

    VARIANTS: ClassVar = {
        "!text": Impact,
        "!password": Impact,
        "!switch": SwitchImpacts,
        "!enum": list[EnumOption],
    }

    kind: str = attrs.field(validator=valid_variant)
    data: Impact | SwitchImpacts | list[EnumOption] | None = None

    def allowed_values(self) -> list[str] | None:
        """The values a property of this type may take; None when any text goes."""
        if self.kind == "!switch":
            return ["on", "off"]
        if self.kind == "!enum":
            return [option.value for option in self.data]
        return None

    def impact(self, value: str) -> Impact | None:
        """The impact of choosing `value`: the `!text`/`!password` impact whatever the text, the impact
        of the `!switch` position or of the `!enum` option; None for a value the type does not allow."""
        if self.kind == "!switch":
            return {"on": self.data.on, "off": self.data.off}.get(value)
        if self.kind == "!enum":
            return next((option.impact for option in self.data if option.value == value), None)
        return self.data


@attrs.frozen
class Property:
    """A node parameter the user may set, with its default (§6.2)."""

    key: str
    name: str
    dynamic_value: bool
    default_value: str
    ui_type: UiType
    description: str | None = None
    #: The variants the property is shown for; None for all.
    variants: list[str] | None = None


@attrs.frozen
class MetadataEntry:
    key: str
    value: str
    description: str | None = None


@attrs.frozen
class ArchivePointerTarget:
    """`!store_key KEY` (the archive of the variant's data) or `!combination_disallowed`."""

    VARIANTS: ClassVar = {"!store_key": str, "!combination_disallowed": None}

    kind: str = attrs.field(validator=valid_variant)
    store_key: str | None = None


@attrs.frozen
class ArchivePointer:
    pointer: ArchivePointerTarget
    new_archive_properties: list[str] = attrs.Factory(list)


@attrs.frozen
class Ramdisk:
    mount: str
    size_mb: UInt64


@attrs.frozen
class FirewallIp:
    #: An address or a network in CIDR notation.
    ip: str
    name: str | None = None


@attrs.frozen
class FirewallPort:
    port: UInt16
    name: str | None = None


@attrs.frozen
class FirewallRule:
    key: str
    protocol: FirewallProtocol
    direction: FirewallDirection
    action: FirewallAction
    description: str | None = None
    ips: list[FirewallIp] = attrs.Factory(list)
    #: Empty means every port.
    ports: list[FirewallPort] = attrs.Factory(list)


@attrs.frozen
class FirewallConfig:
    default_in: FirewallAction
    default_out: FirewallAction
    rules: list[FirewallRule] = attrs.Factory(list)


@attrs.frozen
class Variant:
    """One variant as `babel.yaml` writes it; `Image.variant` applies it to the image."""

    key: str
    sku_code: str
    min_cpu: UInt64
    min_memory_mb: UInt64
    min_disk_gb: UInt64
    metadata: list[MetadataEntry] | None = None
    archive_pointers: list[ArchivePointer] = attrs.Factory(list)
    ramdisks: list[Ramdisk] = attrs.Factory(list)
    dns_scheme: str | None = None
    description: str | None = None
    visibility: Visibility | None = None
    #: Replaces the image's whole property list when given.
    properties: list[Property] | None = None
    firewall_config: FirewallConfig | None = None


@attrs.frozen
class ImageVariant:
    """An image with one variant chosen: the variant's overrides applied and its metadata completed with
    `client`, `network` and `node-type` taken from the variant key (§6.3)."""

    key: str
    sku_code: str
    min_cpu: int
    min_memory_mb: int
    min_disk_gb: int
    metadata: list[MetadataEntry]
    archive_pointers: list[ArchivePointer]
    ramdisks: list[Ramdisk]
    dns_scheme: str | None
    description: str | None
    visibility: Visibility
    properties: list[Property]
    firewall_config: FirewallConfig | None


@attrs.frozen
class PluginSpec(JsonShape):
    """The image's protocol plugin; `to_json()` is the map `babel_api.loading.load_protocol_plugin` takes."""

    loader: PluginLoader = PluginLoader.RHAI
    #: The Rhai plugin folder, inside the image folder.
    path: str = "plugin"
    #: The entry point (group `blockvisor.protocols`) of an installed Python plugin.
    entry_point: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.loader is PluginLoader.PYTHON and not self.entry_point:
            raise ValueError("entry_point: the python loader needs the name of an installed entry point")


@attrs.frozen
class Rootfs:
    """What a node's root filesystem is made from: `{folder: PATH}`, `{tarball: PATH}`, or `{host: true}`
    (a read-only view of the host's system folders, for development images)."""

    VARIANTS: ClassVar = {"folder": str, "tarball": str, "host": bool}

    kind: str = attrs.field(validator=valid_variant)
    value: str | bool | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind == "host" and self.value is not True:
            raise ValueError("host: expected true (leave `host` out to use a folder or a tarball)")


@attrs.frozen
class Image:
    """A node image read from its folder: `babel.yaml` (§6.2) plus this project's `plugin` and `rootfs`."""

    version: str
    protocol_key: str
    visibility: Visibility
    variants: list[Variant]
    properties: list[Property]
    rootfs: Rootfs
    container_uri: str | None = None
    org_id: str | None = None
    dns_scheme: str | None = None
    description: str | None = None
    firewall_config: FirewallConfig | None = None
    plugin: PluginSpec = attrs.Factory(PluginSpec)
    #: The image folder (absolute), where `load_image` found it; never read from the file.
    folder: Path = Path()

    @property
    def rootfs_source(self) -> Path | None:
        """The rootfs folder or tarball as an absolute path; None for a `host` rootfs."""
        return None if self.rootfs.kind == "host" else self.folder / str(self.rootfs.value)

    def variant(self, key: str | None = None) -> ImageVariant:
        """The variant `key`, or the only variant when `key` is None (§6.3 selection rules)."""
        keys = ", ".join(variant.key for variant in self.variants)
        if key is not None:
            chosen = next((variant for variant in self.variants if variant.key == key), None)
            if chosen is None:
                raise ImageError(f"variant '{key}' not found (the image has: {keys or 'none'})")
        elif len(self.variants) == 1:
            chosen = self.variants[0]
        elif not self.variants:
            raise ImageError("no image variant defined")
        else:
            raise ImageError(f"multiple variants found, please choose one ({keys})")
        return ImageVariant(
            key=chosen.key,
            sku_code=chosen.sku_code,
            min_cpu=chosen.min_cpu,
            min_memory_mb=chosen.min_memory_mb,
            min_disk_gb=chosen.min_disk_gb,
            metadata=_complete_metadata(chosen.key, chosen.metadata or []),
            archive_pointers=chosen.archive_pointers,
            ramdisks=chosen.ramdisks,
            dns_scheme=_first(chosen.dns_scheme, self.dns_scheme),
            description=_first(chosen.description, self.description),
            visibility=_first(chosen.visibility, self.visibility),
            properties=_first(chosen.properties, self.properties),
            firewall_config=_first(chosen.firewall_config, self.firewall_config),
        )


def load_image(folder: Path) -> Image:
    """Read the image in `folder`; a problem is one `ImageError` naming `babel.yaml:line:column` and the
    field. Only the shape is checked here (and that `plugin` and `rootfs` paths stay inside the folder);
    `validate_image` checks the naming rules of §6.3."""
    folder = folder.resolve()
    file = folder / BABEL_YAML
    if not file.is_file():
        raise ImageError(f"{folder} is not a node image: it has no {BABEL_YAML}")
    data = _read_yaml(file)
    if isinstance(data, dict):
        data.pop("folder", None)
    try:
        image = structure(Image, data)
        _check_paths_inside(image, folder)
    except ShapeError as error:
        raise ImageError(_locate([(error.path, error.message)], file)[0]) from None
    return attrs.evolve(image, folder=folder)


def validate_image(image: Image) -> list[str]:
    """Every problem of §6.3 in the image, each as `babel.yaml:line:column: field: message`: semantic
    version, container URI, SKU codes, lower-kebab-case keys, firewall rule addresses, plus unique
    variant and property keys and switch/enum defaults that are allowed values. Empty when all is well."""
    problems = list(_image_problems(image))
    return _locate(problems, image.folder / BABEL_YAML) if problems else []


def node_params(variant: ImageVariant, props: Mapping[str, str]) -> dict[str, str]:
    """A node's params: every property's default, overridden by `props`. Unknown keys and values a
    `!switch` or `!enum` does not allow are refused, all at once, naming the property."""
    properties = {prop.key: prop for prop in variant.properties}
    problems = []
    for key, value in props.items():
        prop = properties.get(key)
        if prop is None:
            problems.append(
                f"unknown property '{key}' (the image defines: {', '.join(properties) or 'none'})"
            )
        elif not isinstance(value, str):
            problems.append(f"property '{key}': expected a string, got {value!r}")
        elif (allowed := prop.ui_type.allowed_values()) is not None and value not in allowed:
            problems.append(
                f"property '{key}': '{value}' is not allowed; expected one of: {', '.join(allowed)}"
            )
    if problems:
        raise ParamsError("; ".join(problems))
    return {key: prop.default_value for key, prop in properties.items()} | dict(props)


def archive_store_key(variant: ImageVariant, params: Mapping[str, str]) -> str | None:
    """The dataset (store key) of the archive of a node with `params` (as `node_params` makes them), by
    the rule of the original's archive service: the node's new-archive properties are those whose chosen
    value has an impact with `new_archive`, and the variant's archive pointer whose
    `new_archive_properties` are exactly those names the node's archive. None when no pointer does: the
    node has no archive. A `!combination_disallowed` pointer refuses the params (`ParamsError`): the
    image says nodes with that combination cannot be made."""
    keys = {
        prop.key
        for prop in variant.properties
        if (impact := prop.ui_type.impact(params[prop.key])) is not None and impact.new_archive
    }
    archive = next(
        (archive for archive in variant.archive_pointers if set(archive.new_archive_properties) == keys),
        None,
    )
    if archive is None:
        return None
    if archive.pointer.kind == "!combination_disallowed":
        chosen = ", ".join(f"{key}={params[key]}" for key in sorted(keys)) or "(none with a new archive)"
        raise ParamsError(f"properties {chosen}: this combination has no archive (combination_disallowed)")
    return archive.pointer.store_key


def find_image(reference: str, image_dirs: Iterable[Path]) -> Path:
    """The folder of the image `reference` names: a path to a folder with `babel.yaml`, or
    `protocol/variant[/version]` searched in `image_dirs` (see the module text). When several images
    match equally, the one found first wins, so earlier folders take precedence."""
    as_path = Path(reference).expanduser()
    if (as_path / BABEL_YAML).is_file():
        return as_path.resolve()
    parts = reference.split("/")
    if len(parts) not in (2, 3) or not all(parts) or reference.startswith((".", "~")):
        raise ImageError(
            f"no node image at '{reference}': "
            f"expected a folder with {BABEL_YAML}, or protocol/variant[/version]"
        )
    protocol, variant, version = parts if len(parts) == 3 else (*parts, None)
    dirs = list(image_dirs)
    matches, available, unreadable = [], [], []
    for folder in _image_folders(dirs):
        try:
            image = load_image(folder)
        except ImageError as error:
            unreadable.append(str(error))
            continue
        keys = [item.key for item in image.variants]
        available += [f"{image.protocol_key}/{key}/{image.version}  {image.folder}" for key in keys]
        if image.protocol_key == protocol and variant in keys and version in (None, image.version):
            matches.append(image)
    if matches:
        return max(matches, key=lambda image: _semver_key(image.version)).folder
    lines = [f"no node image '{reference}' in {', '.join(map(str, dirs)) or 'no image folder'}"]
    lines += ["available:", *(f"  {entry}" for entry in available)] if available else ["available: none"]
    lines += ["unreadable:", *(f"  {entry}" for entry in unreadable)] if unreadable else []
    raise ImageError("\n".join(lines))


# --- reading babel.yaml ------------------------------------------------------------------------------


class _Constructor(SafeConstructor):
    """The safe YAML 1.2 constructor plus the spec's tags (registered below, on this class only)."""


def _construct_tagged(constructor: SafeConstructor, node: Node) -> Any:
    """A spec tag's value as `{"!tag": data}`; `!combination_disallowed` takes no data and reads as its
    name; a bare `!text`, `!password` or `!switch` means "no impact"."""
    if isinstance(node, ScalarNode):
        data = constructor.construct_scalar(node) or None
    elif isinstance(node, MappingNode):
        data = constructor.construct_mapping(node, deep=True)
    else:
        data = constructor.construct_sequence(node, deep=True)
    if node.tag == "!combination_disallowed":
        if data is not None:
            raise ConstructorError(None, None, "!combination_disallowed takes no value", node.start_mark)
        return node.tag
    if data is None and node.tag in ("!text", "!password", "!switch"):
        data = {}
    return {node.tag: data}


for _tag in ("!text", "!password", "!switch", "!enum", "!store_key", "!combination_disallowed"):
    _Constructor.add_constructor(_tag, _construct_tagged)


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)  # YAML 1.2 unless a document says otherwise
    yaml.Constructor = _Constructor
    return yaml


def _read_yaml(file: Path) -> Any:
    try:
        return _yaml().load(file.read_text())
    except MarkedYAMLError as error:
        raise ImageError(
            f"{_where(file, error.problem_mark or error.context_mark)}: {error.problem}"
        ) from None
    except (YAMLError, OSError, UnicodeDecodeError) as error:
        raise ImageError(f"{file}: {error}") from None


def _locate(problems: list[tuple[str, str]], file: Path) -> list[str]:
    """`file:line:column: field: message` for each (field path, message), the place found by following
    the path through the YAML nodes of `file`; a missing field points at the map that lacks it."""
    root = _yaml().compose(file.read_text())
    located = []
    for path, message in problems:
        where = _where(file, root and _node_at(root, path).start_mark)
        located.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")
    return located


def _where(file: Path, mark: Any) -> str:
    """`file:line:column` (1-based) of a ruamel mark; just `file` without one (an empty document)."""
    return f"{file}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(file)


_STEP = re.compile(r'\.?([^.\[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _node_at(node: Node, path: str) -> Node:
    """The deepest node along a `shapes` path (`variants[0].properties[1].ui_type.!enum[0].value`)."""
    for name, index, quoted in _STEP.findall(path):
        key = int(index) if index else json.loads(quoted) if quoted else name
        if key == node.tag:  # a spec tag: `{"!tag": data}` is the tagged node itself
            continue
        child = _child(node, key)
        if child is None:
            break
        node = child
    return node


def _child(node: Node, key: str | int) -> Node | None:
    if isinstance(node, SequenceNode) and isinstance(key, int):
        return node.value[key] if key < len(node.value) else None
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == key:
            return value_node
    for key_node, value_node in node.value:  # merge keys: `<<: *anchor` or `<<: [*a, *b]`
        if key_node.tag == "tag:yaml.org,2002:merge":
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if (found := _child(source, key)) is not None:
                    return found
    return None


def _check_paths_inside(image: Image, folder: Path) -> None:
    """The plugin folder and the rootfs source are inside the image folder: an image cannot point a
    node at the host's files (other than through the read-only `host` rootfs)."""
    paths = []
    if image.plugin.loader is PluginLoader.RHAI:
        paths.append(("plugin.path", image.plugin.path))
    if image.rootfs.kind != "host":
        paths.append((f"rootfs.{image.rootfs.kind}", image.rootfs.value))
    for field, relative in paths:
        if not (folder / relative).resolve().is_relative_to(folder):
            raise ShapeError(field, f"'{relative}' leaves the image folder {folder}")


# --- building and checking ---------------------------------------------------------------------------


def _first(override: Any, default: Any) -> Any:
    return default if override is None else override


def _complete_metadata(key: str, metadata: list[MetadataEntry]) -> list[MetadataEntry]:
    """`metadata` plus `node-type`, `network` and `client` from the variant key split from the right on
    '-' (`reth-sepolia-archive` → client reth, network sepolia, node-type archive), unless present."""
    present = {entry.key for entry in metadata}
    derived = zip(("node-type", "network", "client"), reversed(key.rsplit("-", 2)), strict=False)
    return [*metadata, *(MetadataEntry(name, value) for name, value in derived if name not in present)]


def _image_problems(image: Image) -> Iterator[tuple[str, str]]:
    if not _SEMVER.fullmatch(image.version):
        yield "version", f"version must be semantic (e.g. 1.2.3), got '{image.version}'"
    if image.container_uri is not None and not _is_uri(image.container_uri):
        yield "container_uri", f"'{image.container_uri}' is not a URI (e.g. docker://org/image:1.0)"
    yield from _kebab("protocol_key", image.protocol_key)
    yield from _properties_problems("properties", image.properties)
    if image.firewall_config is not None:
        yield from _firewall_problems("firewall_config", image.firewall_config)
    seen = set()
    for index, variant in enumerate(image.variants):
        at = f"variants[{index}]"
        yield from _kebab(f"{at}.key", variant.key)
        if variant.key in seen:
            yield f"{at}.key", f"variant key '{variant.key}' is used twice"
        seen.add(variant.key)
        if not _SKU.fullmatch(variant.sku_code):
            yield (
                f"{at}.sku_code",
                f"'{variant.sku_code}' is not a SKU code: three parts of A-Z and 0-9 joined by '-', "
                "e.g. ETH-ERG-SF",
            )
        for position, entry in enumerate(variant.metadata or []):
            yield from _kebab(f"{at}.metadata[{position}].key", entry.key)
        for position, archive in enumerate(variant.archive_pointers):
            if archive.pointer.store_key is not None:
                field = f"{at}.archive_pointers[{position}].pointer.!store_key"
                yield from _kebab(field, archive.pointer.store_key)
        if variant.properties is not None:
            yield from _properties_problems(f"{at}.properties", variant.properties)
        if variant.firewall_config is not None:
            yield from _firewall_problems(f"{at}.firewall_config", variant.firewall_config)


def _properties_problems(at: str, properties: list[Property]) -> Iterator[tuple[str, str]]:
    seen = set()
    for index, prop in enumerate(properties):
        here = f"{at}[{index}]"
        yield from _kebab(f"{here}.key", prop.key)
        if prop.key in seen:
            yield f"{here}.key", f"property key '{prop.key}' is used twice"
        seen.add(prop.key)
        for position, variant_key in enumerate(prop.variants or []):
            yield from _kebab(f"{here}.variants[{position}]", variant_key)
        if prop.ui_type.kind == "!enum":
            for position, option in enumerate(prop.ui_type.data):
                yield from _kebab(f"{here}.ui_type.!enum[{position}].value", option.value)
        allowed = prop.ui_type.allowed_values()
        if allowed is not None and prop.default_value not in allowed:
            yield (
                f"{here}.default_value",
                f"'{prop.default_value}' is not allowed; expected one of: {', '.join(allowed)}",
            )


def _firewall_problems(at: str, firewall: FirewallConfig) -> Iterator[tuple[str, str]]:
    for index, rule in enumerate(firewall.rules):
        yield from _kebab(f"{at}.rules[{index}].key", rule.key)
        for position, entry in enumerate(rule.ips):
            try:
                ipaddress.ip_network(entry.ip, strict=False)
            except ValueError:
                yield (
                    f"{at}.rules[{index}].ips[{position}].ip",
                    f"invalid ip ({entry.ip}) in rule '{rule.key}'",
                )


def _kebab(field: str, value: str) -> Iterator[tuple[str, str]]:
    if not _KEBAB.fullmatch(value):
        yield field, f"'{value}' isn't lower-kebab-case (a-z, 0-9 and '-')"


def _is_uri(text: str) -> bool:
    parts = urllib.parse.urlsplit(text)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in text


def _semver_key(version: str) -> tuple:
    """Sort key of semantic versions (semver.org §11: a pre-release sorts before its release, numeric
    identifiers numerically and before alphanumeric ones); a version that is not semantic sorts first."""
    match = _SEMVER.fullmatch(version)
    if match is None:
        return (0,)
    release = tuple(int(part) for part in match.group(1, 2, 3))
    if match.group(4) is None:
        return (1, release, 1, ())
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in match.group(4).split(".")
    )
    return (1, release, 0, identifiers)


def _image_folders(image_dirs: list[Path]) -> Iterator[Path]:
    """Each image dir that is an image itself, then its subfolders that are images, in name order."""
    for folder in image_dirs:
        if (folder / BABEL_YAML).is_file():
            yield folder
        if folder.is_dir():
            yield from (child for child in sorted(folder.iterdir()) if (child / BABEL_YAML).is_file())
