"""How a transfer job is tuned: the spec's defaults (§0, §3.1, §4.1), overridden by the job's options.

Tests shrink the sizes (pieces of a few bytes, parts of a few hundred) so that small trees exercise
every boundary; nothing else changes between a test and a production run.
"""

import os

import attrs

from babel_api.models import DownloadOptions, UploadOptions

MiB = 2**20


@attrs.frozen(kw_only=True)
class Settings:
    """`max_runners`: chunks in flight at once. `max_connections`: HTTP requests started at once
    (download: until the response headers arrive; upload: for the whole PUT).
    `part_size`: bytes of one ranged GET. `piece_size`: bytes read, compressed, decoded or written in
    one step; with `max_runners` it bounds the memory of a job, whatever the chunk size.
    `max_retries` / `backoff_base`: per chunk, sleeping `backoff_base * 2**k` seconds before retry k.
    `timeout`: seconds without progress on a connection before the request fails.
    `chunk_target`: uncompressed bytes per chunk when the job names no chunk count.
    `compress_threads`: zstd worker threads of the upload (0: compress in the calling thread).
    `url_expires_secs`: validity asked for upload URLs (None: 3600 + 15 s per runner, spec §4.1).
    """

    max_runners: int = 8
    max_connections: int = 3
    part_size: int = 128 * MiB
    piece_size: int = 4 * MiB
    max_retries: int = 5
    backoff_base: float = 0.5
    timeout: float = 60.0
    chunk_target: int = 500_000_000
    compress_threads: int = attrs.field(factory=lambda: len(os.sched_getaffinity(0)))
    url_expires_secs: int | None = None

    def with_options(self, options: DownloadOptions | UploadOptions | None) -> "Settings":
        """These settings with the job's own choices of runners, connections and URL expiry."""
        if options is None:
            return self
        changes = {
            "max_runners": options.max_runners,
            "max_connections": options.max_connections,
            "url_expires_secs": getattr(options, "url_expires_secs", None),
        }
        return attrs.evolve(self, **{name: value for name, value in changes.items() if value})

    @property
    def upload_url_expiry(self) -> int:
        return self.url_expires_secs or 3600 + 15 * self.max_runners
