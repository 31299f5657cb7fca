"""Many requests over a few keep-alive connections, each answer tallied: the loop both the
webhook load and the outbound benchmark's API poster run."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.lib.metrics import percentile

PostOne = Callable[[int], Awaitable[str]]  # request `index`; its status, or the error's name


@dataclass
class Tally:
    """What posting gave: answers by status, latencies (sorted), when each request left
    (time.monotonic(), system-wide on Linux, so comparable across processes), and the
    poster's wall and CPU time."""

    count: int
    statuses: Counter[str]
    latencies: list[float]
    sent_at: list[float]
    last_answer: float
    wall: float
    cpu: float

    def figures(self, accepted_status: str) -> dict[str, Any]:
        """The figures every benchmark reports for a phase of posting."""
        accepted = self.statuses.get(accepted_status, 0)
        first = min(self.sent_at) if self.count else 0.0
        elapsed = max(1e-9, self.last_answer - first) if self.count else 0.0
        return {
            "accepted": accepted,
            "errors": self.count - accepted,
            "statuses": dict(self.statuses),
            "first_post": first,
            "last_answer": self.last_answer,
            "elapsed": elapsed,
            "accepted_per_s": accepted / elapsed if elapsed else 0.0,
            "p50": percentile(self.latencies, 0.50),
            "p99": percentile(self.latencies, 0.99),
            "cpu": self.cpu / self.wall if self.wall else 0.0,
        }


async def answer_status(response: AbstractAsyncContextManager[aiohttp.ClientResponse]) -> str:
    """The status of an aiohttp request once its body is read, or the error's name."""
    try:
        async with response as answer:
            await answer.read()
            return str(answer.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__


async def post_each(
    count: int,
    connections: int,
    poster: Callable[[], AbstractAsyncContextManager[PostOne]],
    rate: float | None = None,
) -> Tally:
    """Requests 0..count-1, `connections` at a time, each connection's requests through its
    own `poster()`; with `rate`, request i leaves no earlier than i / rate s after the start."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    sent_at = [0.0] * count
    next_index, last_answer = 0, 0.0
    start, cpu_start = time.monotonic(), time.process_time()

    async def worker() -> None:
        nonlocal next_index, last_answer
        async with poster() as post:
            while next_index < count:
                index = next_index
                next_index += 1
                if rate:
                    delay = start + index / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                sent = sent_at[index] = time.monotonic()
                status = await post(index)
                done = time.monotonic()
                last_answer = max(last_answer, done)
                statuses[status] += 1
                latencies.append(done - sent)

    await asyncio.gather(*(worker() for _ in range(connections)))
    wall, cpu = time.monotonic() - start, time.process_time() - cpu_start
    latencies.sort()
    return Tally(count, statuses, latencies, sent_at, last_answer, wall, cpu)


def shared(post: PostOne) -> Callable[[], AbstractAsyncContextManager[PostOne]]:
    """A poster for connections that share one client (an aiohttp session's pool)."""

    @asynccontextmanager
    async def open_one() -> AsyncIterator[PostOne]:
        yield post

    return open_one
