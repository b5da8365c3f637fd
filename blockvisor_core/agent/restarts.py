"""A job's restart policy and backoff (spec §2.8): what the job runner does each time the job's body ends.

Pure logic over an injectable `clock` and `sleep`, so the exact delays are testable without waiting. The
rule, per job runner process: with base B the waits are B, 2B, 4B, ...; an attempt that lasted strictly
longer than the backoff timeout resets the count and restarts at once; `max_retries` R allows R quick
restarts in a row before the runner gives up with the last exit.
"""

import threading
import time
from collections.abc import Callable

from babel_api.models import JobStatus, RestartPolicy


class Restarts:
    """Decides, after each attempt of a job's body, whether to run it again and after how long.

    `log(message)` records the message of every attempt that counts as a failure (and of every attempt
    under `always`); `restarted()` records each restart. `sleep(seconds)` waits the backoff; its default
    waits on `stop`, so a stop request ends the wait at once.
    """

    def __init__(
        self,
        policy: RestartPolicy,
        *,
        stop: threading.Event,
        log: Callable[[str], None] = lambda message: None,
        restarted: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self._policy = policy
        self._log = log
        self._restarted = restarted
        self._stop = stop
        self._clock = clock
        self._sleep = sleep or stop.wait
        self._counter = 0
        self._attempt_start = clock()

    def attempt_started(self) -> None:
        """Mark the start of an attempt: its length decides whether the backoff resets."""
        self._attempt_start = self._clock()

    def stopped(self, exit_code: int | None, message: str) -> JobStatus | None:
        """The body ended with `exit_code` (None: no code, a failure). Return the job's final status, or
        None to run it again once the backoff (already waited here) is over, or because `stop` was set
        meanwhile (the caller then ends without a final status)."""
        kind, config = self._policy.kind, self._policy.config
        if kind != "always" and exit_code == 0:
            return JobStatus.finished(0, "")
        self._log(message)
        if config is None:
            return JobStatus.finished(exit_code, message)
        elapsed_ms = (self._clock() - self._attempt_start) * 1000
        if elapsed_ms > config.backoff_timeout_ms:
            self._counter = 0
        elif config.max_retries is not None and self._counter >= config.max_retries:
            return JobStatus.finished(exit_code, message)
        else:
            self._sleep(config.backoff_base_ms * 2**self._counter / 1000)
            self._counter += 1
        if not self._stop.is_set():
            self._restarted()
        return None
