"""The QueueBackend port every consumer and webhook talks to.

Delivery is at-least-once. Jobs carry a partition (a stable hash of a key such as the
customer's address); each partition has one owning consumer at a time (a lease), so one
customer's messages are handled in arrival order even with several workers.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

INBOUND = "inbound"
OUTBOUND = "outbound"
FEEDS = "feeds"  # order events from shop platforms (hub.queue.feeds)
WEBHOOKS = "webhooks"  # outgoing webhook deliveries (hub.queue.webhooks)
AGENT_BOT = "agentbot"  # events for the shop's external bot (hub.queue.agent_bot)
QUEUES = (INBOUND, OUTBOUND, FEEDS, WEBHOOKS, AGENT_BOT)
PARTITIONS = 16


def partition_of(key: str, partitions: int = PARTITIONS) -> int:
    return zlib.crc32(key.encode()) % partitions


@dataclass(frozen=True, slots=True)
class NewJob:
    key: str
    payload: str
    dedupe_key: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    queue: str
    partition: int
    payload: str
    attempts: int
    enqueued_at: float


@dataclass(frozen=True, slots=True)
class Leases:
    """How long a partition lease lasts and how long a silent consumer still counts as
    alive: the one timing seam both backends take (tests shorten it to see a dead worker's
    partitions move on within a second)."""

    lease_seconds: float = 15.0
    alive_seconds: float = 10.0


PRODUCTION_LEASES = Leases()


POLL_SECONDS = 0.1


class Wakeups:
    """Wakes this process's consumers when it enqueued work; other processes' work is seen
    by polling at most every POLL_SECONDS."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def _event(self, queue: str) -> asyncio.Event:
        event = self._events.get(queue)
        if event is None:
            event = self._events[queue] = asyncio.Event()
        return event

    def notify(self, queue: str) -> None:
        self._event(queue).set()

    async def wait(self, queue: str, timeout: float) -> None:
        event = self._event(queue)
        try:
            await asyncio.wait_for(event.wait(), min(timeout, POLL_SECONDS))
        except TimeoutError:
            pass
        event.clear()


class QueueBackend(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def enqueue(self, queue: str, jobs: list[NewJob]) -> None:
        """Return only once the jobs are durable; a repeated dedupe_key is ignored."""

    async def claim(self, queue: str, consumer: str, limit: int) -> list[Job]:
        """Jobs of the partitions this consumer holds, oldest first, due now."""

    async def enqueue_within(self, session: AsyncSession, queue: str, jobs: list[NewJob]) -> bool:
        """Enqueue inside the caller's transaction when the queue lives in the same database
        (the jobs commit with the rows they name, or not at all); False: call `enqueue`
        after the commit (a crash in between leaves the job to the stranded-reply sweep)."""

    async def ack(self, queue: str, jobs: list[Job]) -> None: ...

    async def ack_within(self, session: AsyncSession, queue: str, jobs: list[Job]) -> bool:
        """Ack inside the caller's transaction when the queue lives in the same database
        (the work and its ack commit together); False: call `ack` after the commit."""

    async def retry(self, job: Job, delay: float, error: str, payload: str | None = None) -> None:
        """Due again after `delay`; `payload`, when given, replaces the job's (a send's
        progress rides with it, so it survives a worker restart)."""

    async def dead_letter(self, job: Job, error: str) -> None: ...

    async def rebalance(self, queue: str, consumer: str) -> set[int]:
        """Heartbeat, renew this consumer's leases, take or give partitions for a fair share."""

    async def release(self, queue: str, consumer: str) -> None: ...

    async def wait_for_work(self, queue: str, timeout: float) -> None: ...

    async def depth(self, queue: str) -> int: ...

    async def ping(self) -> None: ...
