"""The image a request names, resolved and checked: the folder, the variant, the node's params and the
dataset of its archive.

A reference is a path to an image folder (its only variant is used) or `protocol/variant[/version]`,
looked up in the host's image folders (the highest version when none is given).
"""

from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from blockvisor_core.images import (
    ImageError,
    ParamsError,
    archive_store_key,
    find_image,
    load_image,
    node_params,
)
from blockvisor_core.nodes.errors import InvalidRequest, NotFound
from blockvisor_core.nodes.state import NodeImage


@attrs.frozen(kw_only=True)
class ImageChoice:
    """An image and variant chosen for a node, with the node's params and the variant's requirements."""

    image: NodeImage
    params: dict[str, str]
    cpus: int
    memory_mb: int
    disk_gb: int


def choose_image(reference: str, properties: Mapping[str, str], image_dirs: Iterable[Path]) -> ImageChoice:
    """Resolve `reference` and check `properties` against the variant's, and that the variant allows
    their combination (its archive pointers); errors name what is wrong."""
    if not reference:
        raise InvalidRequest("no image given: name an image folder, or protocol/variant[/version]")
    try:
        folder = find_image(reference, image_dirs)
    except ImageError as error:
        raise NotFound(str(error)) from None
    is_folder = (Path(reference).expanduser() / "babel.yaml").is_file()
    try:
        image = load_image(folder)
        variant = image.variant(None if is_folder else reference.split("/")[1])
        params = node_params(variant, properties)
        store_key = archive_store_key(variant, params)
    except (ImageError, ParamsError) as error:
        raise InvalidRequest(str(error)) from None
    rootfs = image.rootfs_source
    chosen = NodeImage(
        reference=reference,
        folder=str(image.folder),
        protocol=image.protocol_key,
        variant=variant.key,
        version=image.version,
        plugin=image.plugin.to_json(),
        rootfs=None if rootfs is None else str(rootfs),
        container_uri=image.container_uri,
        store_key=store_key,
    )
    return ImageChoice(
        image=chosen,
        params=params,
        cpus=variant.min_cpu,
        memory_mb=variant.min_memory_mb,
        disk_gb=variant.min_disk_gb,
    )
