"""Progress of a transfer job, as reported to the job runner (which keeps it in the job's
`progress.json`): chunks done of all chunks, as the original reports it, plus bytes done of all bytes
(uncompressed) and the current rate.

The original's readers see the `JobProgress` they know (`{"total", "current", "message"}`); the byte
counts are extra keys, which they ignore. It is reported when a chunk is done, and at most once a
second in between.
"""

import threading
import time
from collections import deque
from collections.abc import Callable

from babel_api.models import JobProgress

#: Seconds of history the current rate is measured over.
RATE_WINDOW = 5.0
#: Seconds between two reports while no chunk completes.
REPORT_INTERVAL = 1.0


class Progress:
    """Counts chunks and bytes of one attempt (starting from what earlier attempts completed).

    Bytes of a chunk in flight count as they are processed; when a chunk starts over, its bytes are
    taken back, so `bytes_current` never counts a byte twice.
    """

    def __init__(
        self,
        report: Callable[[JobProgress], None],
        *,
        chunks_total: int,
        chunks_done: int,
        bytes_total: int,
        bytes_done: int,
    ) -> None:
        self._report = report
        self._lock = threading.Lock()
        self._chunks_total = chunks_total
        self._chunks_done = chunks_done
        self._bytes_total = bytes_total
        self._bytes_done = bytes_done
        self._in_flight: dict[int, int] = {}
        self._samples: deque[tuple[float, int]] = deque()
        self._reported = 0.0

    def advance(self, index: int, count: int) -> None:
        """`count` more bytes of chunk `index` processed."""
        with self._lock:
            self._in_flight[index] = self._in_flight.get(index, 0) + count
            if time.monotonic() - self._reported >= REPORT_INTERVAL:
                self._send()

    def restart(self, index: int) -> None:
        """Chunk `index` starts over: its bytes so far no longer count."""
        with self._lock:
            self._in_flight.pop(index, None)

    def done(self, index: int, size: int) -> None:
        """Chunk `index`, of `size` uncompressed bytes, is complete and recorded."""
        with self._lock:
            self._in_flight.pop(index, None)
            self._chunks_done += 1
            self._bytes_done += size
            self._send()

    def report(self) -> None:
        with self._lock:
            self._send()

    def _send(self) -> None:
        now = time.monotonic()
        current = self._bytes_done + sum(self._in_flight.values())
        self._samples.append((now, current))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()
        start, start_bytes = self._samples[0]
        rate = (current - start_bytes) / (now - start) if now > start else 0.0
        progress = JobProgress(
            total=self._chunks_total,
            current=self._chunks_done,
            message="chunks",
            bytes_total=self._bytes_total,
            bytes_current=min(current, self._bytes_total),
            bytes_per_second=round(max(rate, 0.0), 1),
        )
        self._reported = now
        self._report(progress)
