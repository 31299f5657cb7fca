"""Queue in the hub's own database: the embedded default, also fine on PostgreSQL.

Webhook enqueues are group-committed: concurrent requests share one transaction, so the
acknowledgement waits for durability without paying one fsync per request.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from functools import cached_property

from sqlalchemy import bindparam, delete, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.base import Executable
from sqlmodel import col

from hub import metrics
from hub.db import Database
from hub.errors import QueueUnavailable
from hub.models.base import UTCDateTime, utcnow
from hub.models.queue import DeadLetter, QueueConsumer, QueueJob, QueueLease
from hub.models.tables import QUEUE_JOBS
from hub.queue.group_commit import Batch, GroupCommit
from hub.queue.port import PARTITIONS, PRODUCTION_LEASES, Job, Leases, NewJob, Wakeups, partition_of

_CLAIM = (
    select(
        QUEUE_JOBS.c.id,
        QUEUE_JOBS.c.partition,
        QUEUE_JOBS.c.payload,
        QUEUE_JOBS.c.attempts,
        QUEUE_JOBS.c.enqueued_at,
    )
    .where(
        QUEUE_JOBS.c.queue == bindparam("queue"),
        QUEUE_JOBS.c.partition.in_(bindparam("held", expanding=True)),
        QUEUE_JOBS.c.available_at <= bindparam("now", type_=UTCDateTime()),
    )
    .order_by(QUEUE_JOBS.c.id)
    .limit(bindparam("limit"))
)
_ACK = delete(QUEUE_JOBS).where(QUEUE_JOBS.c.id.in_(bindparam("ids", expanding=True)))


_ENQUEUE_TURNS = metrics.write_turn_seconds.labels("enqueue")


def _unavailable(exc: Exception) -> Exception:
    return QueueUnavailable(f"the database queue could not store the event: {exc}")


class DatabaseQueue:
    name = "database"

    def __init__(
        self, db: Database, partitions: int = PARTITIONS, leases: Leases = PRODUCTION_LEASES
    ) -> None:
        self.db = db
        self.partitions = partitions
        self.leases = leases
        self._wakeups = Wakeups()
        self._commits = GroupCommit(self._write_batch, self._wakeups, _unavailable)
        self._held: dict[tuple[str, str], set[int]] = {}
        self._connection: AsyncConnection | None = None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self._commits.close()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @cached_property
    def _insert(self) -> Executable:
        """One statement for every flush: compiled once, run as executemany."""
        dialect = sqlite if self.db.is_sqlite else postgresql
        return dialect.insert(QUEUE_JOBS).on_conflict_do_nothing(
            index_elements=["queue", "dedupe_key"]
        )

    async def enqueue(self, queue: str, jobs: list[NewJob]) -> None:
        await self._commits.enqueue(queue, jobs)

    async def enqueue_within(self, session: AsyncSession, queue: str, jobs: list[NewJob]) -> bool:
        if jobs:
            await session.execute(self._insert, self._rows([(queue, job) for job in jobs]))
            # This process's consumers hear of the jobs once they are visible, not before.
            event.listen(
                session.sync_session,
                "after_commit",
                lambda _: self._wakeups.notify(queue),
                once=True,
            )
        return True

    def _rows(self, batch: Batch) -> list[dict[str, object]]:
        now, stamp = utcnow(), time.time()
        return [
            {
                "queue": queue,
                "partition": partition_of(job.key, self.partitions),
                "payload": job.payload,
                "dedupe_key": job.dedupe_key,
                "available_at": now,
                "enqueued_at": stamp,
                "attempts": 0,
            }
            for queue, job in batch
        ]

    async def _write_batch(self, batch: Batch) -> None:
        rows = self._rows(batch)
        async with self.db.writing(urgent=True):  # webhooks wait for it: first in line
            with _ENQUEUE_TURNS.time():
                await self._write(rows)

    async def _write(self, rows: list[dict[str, object]]) -> None:
        """On the flusher's own connection: a pool checkout per flush costs more than it.

        That connection skips the pool's pre-ping, so after a database restart it is found
        dead only by the next write: that write is tried once more on a fresh connection
        (safe: the insert ignores a dedupe key already stored)."""
        fresh = self._connection is None or self._connection.invalidated
        if self._connection is None or fresh:
            self._connection = await self.db.engine.connect()
        try:
            async with self._connection.begin():
                await self._connection.execute(self._insert, rows)
        except Exception as exc:
            connection, self._connection = self._connection, None
            await connection.close()
            if fresh or not (isinstance(exc, DBAPIError) and exc.connection_invalidated):
                raise
            await self._write(rows)

    async def wait_for_work(self, queue: str, timeout: float) -> None:
        await self._wakeups.wait(queue, timeout)

    async def claim(self, queue: str, consumer: str, limit: int) -> list[Job]:
        held = self._held.get((queue, consumer))
        if not held:
            return []
        async with self.db.engine.connect() as connection:
            result = await connection.execute(
                _CLAIM, {"queue": queue, "held": sorted(held), "now": utcnow(), "limit": limit}
            )
            return [
                Job(str(job_id), queue, partition, payload, attempts, enqueued_at)
                for job_id, partition, payload, attempts, enqueued_at in result
            ]

    async def ack(self, queue: str, jobs: list[Job]) -> None:
        if not jobs:
            return
        async with self.db.writing(), self.db.engine.begin() as connection:
            await connection.execute(_ACK, {"ids": [int(j.id) for j in jobs]})

    async def ack_within(self, session: AsyncSession, queue: str, jobs: list[Job]) -> bool:
        await session.execute(_ACK, {"ids": [int(j.id) for j in jobs]})
        return True

    async def retry(self, job: Job, delay: float, error: str, payload: str | None = None) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(QueueJob)
                .where(col(QueueJob.id) == int(job.id))
                .values(
                    attempts=job.attempts + 1,
                    available_at=utcnow() + timedelta(seconds=delay),
                    last_error=error[:2000],
                    payload=job.payload if payload is None else payload,
                )
            )
            await session.commit()

    async def dead_letter(self, job: Job, error: str) -> None:
        async with self.db.session() as session:
            session.add(DeadLetter(queue=job.queue, payload=job.payload, error=error[:4000]))
            await session.execute(delete(QueueJob).where(col(QueueJob.id) == int(job.id)))
            await session.commit()

    async def rebalance(self, queue: str, consumer: str) -> set[int]:
        # A write transaction of several round trips: on SQLite it takes its turn like every
        # other writer here, or the webhook's enqueue and the router wait for it in SQLite's
        # busy handler, which sleeps in growing steps (the push latency outliers).
        async with self.db.writing(), self.db.session() as session:
            held = await self._rebalance(session, queue, consumer)
            await session.commit()
        self._held[(queue, consumer)] = held
        return held

    async def _rebalance(self, session: AsyncSession, queue: str, consumer: str) -> set[int]:
        now = utcnow()
        dialect = sqlite if self.db.is_sqlite else postgresql
        await session.execute(
            dialect.insert(QueueConsumer)
            .values(name=consumer, queue=queue, seen_at=now)
            .on_conflict_do_update(index_elements=["name", "queue"], set_={"seen_at": now})
        )
        await session.execute(
            dialect.insert(QueueLease)
            .values(
                [
                    {"queue": queue, "partition": p, "expires_at": now}
                    for p in range(self.partitions)
                ]
            )
            .on_conflict_do_nothing(index_elements=["queue", "partition"])
        )
        alive = await session.scalar(
            select(func.count())
            .select_from(QueueConsumer)
            .where(
                col(QueueConsumer.queue) == queue,
                col(QueueConsumer.seen_at) > now - timedelta(seconds=self.leases.alive_seconds),
            )
        )
        fair_share = math.ceil(self.partitions / max(1, alive or 1))
        expires = now + timedelta(seconds=self.leases.lease_seconds)
        mine = set(
            (
                await session.scalars(
                    select(col(QueueLease.partition)).where(
                        col(QueueLease.queue) == queue,
                        col(QueueLease.owner) == consumer,
                        col(QueueLease.expires_at) > now,
                    )
                )
            ).all()
        )
        for extra in sorted(mine)[fair_share:]:
            await self._set_owner(session, queue, extra, None, now)
            mine.discard(extra)
        if mine:
            await session.execute(
                update(QueueLease)
                .where(col(QueueLease.queue) == queue, col(QueueLease.partition).in_(mine))
                .values(expires_at=expires)
            )
        if len(mine) < fair_share:
            free = await session.scalars(
                select(col(QueueLease.partition))
                .where(
                    col(QueueLease.queue) == queue,
                    or_(col(QueueLease.owner).is_(None), col(QueueLease.expires_at) <= now),
                )
                .order_by(col(QueueLease.partition))
            )
            for partition in free.all()[: fair_share - len(mine)]:
                # The guarded update is the race check: only one consumer's update matches.
                taken = await session.execute(
                    update(QueueLease)
                    .where(
                        col(QueueLease.queue) == queue,
                        col(QueueLease.partition) == partition,
                        or_(col(QueueLease.owner).is_(None), col(QueueLease.expires_at) <= now),
                    )
                    .values(owner=consumer, expires_at=expires)
                )
                if taken.rowcount:  # type: ignore[attr-defined]
                    mine.add(partition)
        return mine

    async def _set_owner(
        self, session: AsyncSession, queue: str, partition: int, owner: str | None, now: object
    ) -> None:
        await session.execute(
            update(QueueLease)
            .where(col(QueueLease.queue) == queue, col(QueueLease.partition) == partition)
            .values(owner=owner, expires_at=now)
        )

    async def release(self, queue: str, consumer: str) -> None:
        self._held.pop((queue, consumer), None)
        async with self.db.session() as session:
            await session.execute(
                update(QueueLease)
                .where(col(QueueLease.queue) == queue, col(QueueLease.owner) == consumer)
                .values(owner=None, expires_at=utcnow())
            )
            await session.execute(
                delete(QueueConsumer).where(
                    col(QueueConsumer.queue) == queue, col(QueueConsumer.name) == consumer
                )
            )
            await session.commit()

    async def depth(self, queue: str) -> int:
        async with self.db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(QueueJob).where(col(QueueJob.queue) == queue)
            )
            return int(count or 0)

    async def ping(self) -> None:
        async with self.db.session() as session:
            await session.execute(select(1))
