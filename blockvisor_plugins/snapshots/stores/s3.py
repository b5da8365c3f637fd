"""An S3-compatible bucket (AWS, R2, MinIO, Ceph, `rclone serve s3`, ...), addressed path-style.

Everything goes through SigV4 presigned URLs, the store's own small requests (manifests, listings)
included, so that one presigner and one HTTP client serve all. Config: `{"kind": "s3", "endpoint":
"https://host[:port]", "region": ..., "bucket": ..., "access_key": ..., "secret_key": ...}`.
"""

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import sigv4
from ..transport import Transport
from . import check_key, config_field

#: Seconds a URL of the store's own small requests stays valid.
SMALL_REQUEST_EXPIRES = 300
_NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}


class S3Store:
    """Objects `key` of `bucket` at `endpoint`."""

    def __init__(
        self, *, endpoint: str, region: str, bucket: str, access_key: str, secret_key: str,
        transport: Transport | None = None,
    ) -> None:  # fmt: skip
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"archive store 's3': store.endpoint: expected an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.bucket = bucket
        self._access_key = access_key
        self._secret_key = secret_key
        self._transport = transport or Transport()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "S3Store":
        return cls(
            endpoint=config_field(config, "endpoint"),
            region=config_field(config, "region", required=False) or "us-east-1",
            bucket=config_field(config, "bucket"),
            access_key=config_field(config, "access_key"),
            secret_key=config_field(config, "secret_key"),
        )

    def _presign(self, method: str, path: str, expires: int, query: Mapping[str, str] | None = None) -> str:
        return sigv4.presign(
            method, f"{self.endpoint}/{self.bucket}{path}", access_key=self._access_key,
            secret_key=self._secret_key, region=self.region, expires=expires, query=query,
        )  # fmt: skip

    def presign_get(self, key: str, expires_secs: int) -> str:
        return self._presign("GET", "/" + check_key(key), expires_secs)

    def presign_put(self, key: str, expires_secs: int) -> str:
        return self._presign("PUT", "/" + check_key(key), expires_secs)

    def read(self, key: str) -> bytes | None:
        return self._transport.read(self.presign_get(key, SMALL_REQUEST_EXPIRES))

    def write(self, key: str, data: bytes) -> None:
        self._transport.write(self.presign_put(key, SMALL_REQUEST_EXPIRES), data)

    def folders(self, prefix: str) -> list[str]:
        """ListObjectsV2 with delimiter `/`, page after page."""
        prefix = check_key(prefix) + "/"
        names = []
        token = None
        while True:
            query = {"list-type": "2", "prefix": prefix, "delimiter": "/"}
            if token:
                query["continuation-token"] = token
            answer = self._transport.read(self._presign("GET", "", SMALL_REQUEST_EXPIRES, query))
            if answer is None:
                raise LookupError(f"no bucket {self.bucket!r} at {self.endpoint}")
            root = ElementTree.fromstring(answer)
            for common in root.iterfind("s3:CommonPrefixes/s3:Prefix", _NS):
                names.append((common.text or "").removeprefix(prefix).rstrip("/"))
            token = root.findtext("s3:NextContinuationToken", None, _NS)
            if root.findtext("s3:IsTruncated", "false", _NS) != "true" or not token:
                return names
