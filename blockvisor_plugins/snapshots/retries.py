"""Trying a chunk again after a failure: a bounded number of times, backing off exponentially."""

import threading


class Retries:
    """The failures of one chunk so far; `failed(error)` waits before the next try, or re-raises.

    The wait ends early when `stop` is set; the caller, seeing it set, stops trying.
    """

    def __init__(self, limit: int, backoff_base: float, stop: threading.Event) -> None:
        self._limit = limit
        self._backoff_base = backoff_base
        self._stop = stop
        self.count = 0

    def failed(self, error: Exception) -> None:
        """Count `error`; raise it when the tries are used up, else sleep `base * 2**count` seconds."""
        self.count += 1
        if self.count > self._limit:
            raise error
        self._stop.wait(self._backoff_base * 2**self.count)
