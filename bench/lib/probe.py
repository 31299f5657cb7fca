"""A loopback /healthz probe: how long the hub's event loop keeps a trivial request
waiting, sampled every few milliseconds while a phase runs (a stall shows as one slow
answer, which a throughput figure hides)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from bench.lib.metrics import Sampling, percentile


class HealthProbe(Sampling):
    """GET `base`/healthz one at a time, `interval` s apart, over its own connection."""

    def __init__(self, base: str, interval: float = 0.01) -> None:
        self.base = base
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds to the answer)

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

    def worst(self, start: float = 0.0, end: float = float("inf")) -> float | None:
        """The slowest answer to a probe in flight at some time in [start, end]."""
        hits = [w for sent, w in self.samples if sent <= end and sent + w >= start]
        return max(hits, default=None)

    def p99(self) -> float | None:
        return percentile(sorted(w for _, w in self.samples), 0.99)
