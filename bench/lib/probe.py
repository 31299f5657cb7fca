"""A loopback /healthz probe: how long the hub's event loop keeps a trivial request
waiting, sampled every few milliseconds while a phase runs (a stall shows as one slow
answer, which a throughput figure hides)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import aiohttp

from bench.lib.metrics import percentile


@dataclass
class HealthProbe:
    """GET `base`/healthz one at a time, `interval` s apart, over its own connection."""

    base: str
    interval: float = 0.01
    samples: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while True:
                sent = time.monotonic()
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(self.base + "/healthz") as resp:
                        await resp.read()
                self.samples.append((sent, time.monotonic() - sent))
                await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def worst(self, start: float = 0.0, end: float = float("inf")) -> float | None:
        """The slowest answer to a probe in flight at some time in [start, end]."""
        hits = [w for sent, w in self.samples if sent <= end and sent + w >= start]
        return max(hits, default=None)

    def p99(self) -> float | None:
        return percentile(sorted(w for _, w in self.samples), 0.99)
