"""AWS Signature Version 4 query-string presigning (S3), so that any S3-compatible server takes our URLs.

A presigned URL carries its own authorisation: whoever holds it may do that one request (method, path,
query) until it expires, without the credentials. Only the `host` header is signed, and the payload is
`UNSIGNED-PAYLOAD`, so a body can be streamed without hashing it first.
"""

import datetime
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
#: The longest validity SigV4 allows (7 days).
MAX_EXPIRES = 7 * 24 * 3600


def _encode(text: str, safe: str = "") -> str:
    """RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, upper-case hex."""
    return quote(text, safe="-_.~" + safe)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str) -> bytes:
    """The key derived for one day, region and service."""
    key = _hmac(("AWS4" + secret_key).encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, SERVICE)
    return _hmac(key, "aws4_request")


def presign(
    method: str,
    url: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    expires: int,
    query: Mapping[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """`url` (scheme, host[:port] and an unencoded path) with a SigV4 signature for `method` in its query.

    `query`: further parameters the request carries (e.g. `list-type`); they are signed too.
    `expires`: seconds the URL stays valid, 1 to 7 days.
    """
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"a presigned URL expires after 1 to {MAX_EXPIRES} seconds, not {expires}")
    parts = urlsplit(url)
    when = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    date = stamp[:8]
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    params = {
        **(query or {}),
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(params.items()))
    path = _encode(parts.path or "/", safe="/")
    canonical_request = "\n".join(
        [method, path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    signature = hmac.new(signing_key(secret_key, date, region), string_to_sign.encode(), hashlib.sha256)
    return f"{parts.scheme}://{parts.netloc}{path}?{canonical_query}&X-Amz-Signature={signature.hexdigest()}"
