"""The daemon's background loops (spec §2.1): recovery, protocol status and metrics.

Each round runs on a worker thread, so the event loop keeps serving requests meanwhile; a round that
fails is logged and the loop goes on. Status and metrics loops sleep their period plus a random whole
number of seconds below half of it, so that many hosts do not poll in step.
"""

import asyncio
import random
from collections.abc import Callable
from concurrent.futures import Executor

from loguru import logger

RECOVERY_SECS = 15.0
STATUS_SECS = 30.0
METRICS_SECS = 30.0


def jittered(base: float) -> float:
    """`base` plus uniform random whole seconds in [0, base/2) (none for a base below 2 s, §11)."""
    return base + random.randrange(int(base // 2)) if base >= 2 else base


async def every(
    name: str, period: Callable[[], float], work: Callable[[], None], executor: Executor, *, first_now: bool
) -> None:
    """Run `work` on `executor` every `period()` seconds until cancelled; at once first when `first_now`."""
    loop = asyncio.get_running_loop()
    if not first_now:
        await asyncio.sleep(period())
    while True:
        try:
            await loop.run_in_executor(executor, work)
        except Exception:
            logger.exception("{} round failed", name)
        await asyncio.sleep(period())
