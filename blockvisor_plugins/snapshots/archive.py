"""The archive of a node's protocol data, kept in an archive store (the `ArchiveApi` of the jobs).

Layout in the store, as the original's archive service keeps it, per dataset (`store_key`, e.g.
`ethereum-mainnet-v1`) and data version:

    <store_key>/<data_version>/manifest-header.json   DownloadMetadata
    <store_key>/<data_version>/manifest-body.json     the chunk list, without URLs
    <store_key>/<data_version>/data.part_<index>      chunk objects

A version is published when its header exists: the body is written first, the header last. The
latest version is the highest one with a header. The node's archive config is the JSON file
`<node_dir>/var/lib/babel/archive.json` (`blockvisor_core.paths.archive_config`), written by the nodes
manager: `{"store": {"kind": "s3" | "local", ...}, "store_key": "..."}`.
"""

import json
import threading
from collections.abc import Sequence

import attrs

from babel_api.archive import Chunk, DownloadManifest, DownloadMetadata, Slot, UploadSlots
from blockvisor_core.archive_store import ArchiveStore

HEADER = "manifest-header.json"
BODY = "manifest-body.json"
#: Seconds a chunk's download URL stays valid (a URL that expires anyway is replaced on refusal).
DOWNLOAD_URL_EXPIRES = 3600


class ArchiveNotFoundError(LookupError):
    """The store holds no published version of the dataset."""


class VersionPublishedError(ValueError):
    """Upload slots asked for a data version that is already published."""


class StoreArchive:
    """The archive of dataset `store_key` in `store`."""

    def __init__(self, store: ArchiveStore, store_key: str) -> None:
        if not store_key or "/" in store_key or store_key in (".", ".."):
            raise ValueError(f"archive config: store_key: expected a name without '/', got {store_key!r}")
        self.store = store
        self.store_key = store_key
        self._bodies: dict[int, dict[int, Chunk]] = {}
        self._lock = threading.Lock()

    def _versions(self) -> list[int]:
        return sorted(int(name) for name in self.store.folders(self.store_key) if name.isdigit())

    def _key(self, data_version: int, name: str) -> str:
        return f"{self.store_key}/{data_version}/{name}"

    def get_download_metadata(self) -> DownloadMetadata:
        for version in reversed(self._versions()):
            header = self.store.read(self._key(version, HEADER))
            if header is not None:
                return DownloadMetadata.from_json(json.loads(header))
        raise ArchiveNotFoundError(f"manifest not available for {self.store_key}")

    def _body(self, data_version: int) -> dict[int, Chunk]:
        with self._lock:
            body = self._bodies.get(data_version)
            if body is None:
                raw = self.store.read(self._key(data_version, BODY))
                if raw is None:
                    raise ArchiveNotFoundError(
                        f"no manifest body for {self.store_key} version {data_version}"
                    )
                body = {chunk.index: chunk for chunk in map(Chunk.from_json, json.loads(raw))}
                self._bodies[data_version] = body
            return body

    def get_download_chunks(self, data_version: int, indexes: Sequence[int]) -> list[Chunk]:
        body = self._body(data_version)
        return [
            attrs.evolve(
                chunk, url=self.store.presign_get(chunk.key, DOWNLOAD_URL_EXPIRES) if chunk.size else None
            )
            for chunk in (body[index] for index in indexes if index in body)
        ]

    def get_upload_slots(
        self, data_version: int | None, indexes: Sequence[int], url_expires_secs: int
    ) -> UploadSlots:
        if data_version is None:
            data_version = max(self._versions(), default=0) + 1
        elif self.store.read(self._key(data_version, HEADER)) is not None:
            raise VersionPublishedError(
                f"data version {data_version} of {self.store_key} is already published"
            )
        slots = []
        for index in indexes:
            key = self._key(data_version, f"data.part_{index}")
            slots.append(Slot(index, key, self.store.presign_put(key, url_expires_secs)))
        return UploadSlots(slots, data_version)

    def put_download_manifest(self, manifest: DownloadManifest, data_version: int) -> None:
        chunks = [
            attrs.evolve(chunk, index=position, url=None) for position, chunk in enumerate(manifest.chunks)
        ]
        body = json.dumps([chunk.to_json() for chunk in chunks], separators=(",", ":"))
        header = DownloadMetadata(
            total_size=manifest.total_size, compression=manifest.compression, chunks=len(chunks),
            data_version=data_version,
        )  # fmt: skip
        self.store.write(self._key(data_version, BODY), body.encode())
        self.store.write(self._key(data_version, HEADER), json.dumps(header.to_json()).encode())
