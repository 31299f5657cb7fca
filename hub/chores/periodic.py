"""Chores a process repeats in the background until it stops (snooze wake-ups, the media
sweep): one loop, so each chore is only its own `run_once`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    interval: float, chore: Callable[[], Awaitable[object]], stopping: asyncio.Event, what: str
) -> None:
    """`chore` now, then every `interval` seconds until `stopping` is set. A failure (the
    database away a moment) is logged and the chore tried again at the next tick."""
    while not stopping.is_set():
        try:
            await chore()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed, will retry", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
