"""One queue contract, run against the database backend and the Redis Streams backend.

Webhooks and consumers only know the QueueBackend port, so both backends must behave the
same: durable, deduplicated, per-customer ordered, and handing a dead worker's jobs on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from hub.db import Database
from hub.errors import QueueUnavailable
from hub.migrate import migrate
from hub.models.queue import DeadLetter
from hub.queue.database import DatabaseQueue
from hub.queue.port import (
    INBOUND,
    OUTBOUND,
    PARTITIONS,
    PRODUCTION_LEASES,
    Job,
    Leases,
    NewJob,
    QueueBackend,
    partition_of,
)
from hub.queue.redis_streams import RedisStreamsQueue
from hub.settings import Settings
from tests.servers import RedisServer, start_redis
from tests.support import eventually

# A dead consumer's leases and heartbeat lapse in half a second: both backends take it the
# same way, through their `leases` argument.
SHORT_LEASES = Leases(lease_seconds=0.5, alive_seconds=0.5)
short_leases = pytest.mark.parametrize("queue_leases", [SHORT_LEASES])


@pytest.fixture(scope="module")
def queue_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


async def flushall(url: str) -> None:
    client = aioredis.from_url(url)
    await client.flushall()
    await client.aclose()


@pytest.fixture
def queue_leases() -> Leases:
    """The production timings; a test marked `short_leases` gets SHORT_LEASES instead."""
    return PRODUCTION_LEASES


@pytest.fixture(params=["database", "redis"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, queue_leases: Leases
) -> AsyncIterator[QueueBackend]:
    queue: QueueBackend
    db: Database | None = None
    if request.param == "database":
        db = Database(Settings(database_url=f"sqlite:///{tmp_path}/q.db"))
        await migrate(db)
        queue = DatabaseQueue(db, leases=queue_leases)
    else:
        server: RedisServer = request.getfixturevalue("queue_redis")
        await flushall(server.url)
        queue = RedisStreamsQueue(server.url, leases=queue_leases)
    await queue.start()
    yield queue
    await queue.close()
    if db is not None:
        await db.close()


async def dead_letters(backend: QueueBackend, queue: str) -> list[tuple[str, str]]:
    if isinstance(backend, RedisStreamsQueue):
        entries = cast(
            list[tuple[str, dict[str, str]]], await backend.redis.xrange(f"hub:dead:{queue}")
        )
        return [(fields["payload"], fields["error"]) for _, fields in entries]
    assert isinstance(backend, DatabaseQueue)
    async with backend.db.session() as session:
        rows = await session.scalars(select(DeadLetter).where(DeadLetter.queue == queue))  # type: ignore[arg-type]
        return [(row.payload, row.error or "") for row in rows]


def jobs_for(key: str, *payloads: str) -> list[NewJob]:
    return [NewJob(key=key, payload=payload) for payload in payloads]


def payloads(jobs: list[Job]) -> list[str]:
    return [job.payload for job in jobs]


def key_in_other_partition(key: str) -> str:
    return next(
        other for n in range(100) if partition_of(other := f"{key}-{n}") != partition_of(key)
    )


class TestQueueContract:
    async def test_a_rebalanced_consumer_gets_each_customers_jobs_oldest_first(
        self, backend: QueueBackend
    ) -> None:
        ann, bob = "ann", key_in_other_partition("ann")
        await backend.enqueue(INBOUND, [*jobs_for(ann, "a1", "a2"), *jobs_for(bob, "b1")])
        await backend.enqueue(INBOUND, [*jobs_for(bob, "b2"), *jobs_for(ann, "a3")])
        assert await backend.claim(INBOUND, "w1", 100) == []  # no lease yet, no jobs
        assert await backend.rebalance(INBOUND, "w1") == set(range(PARTITIONS))
        jobs = await backend.claim(INBOUND, "w1", 100)
        assert payloads([j for j in jobs if j.partition == partition_of(ann)]) == ["a1", "a2", "a3"]
        assert payloads([j for j in jobs if j.partition == partition_of(bob)]) == ["b1", "b2"]
        assert all(j.queue == INBOUND and j.attempts == 0 and j.enqueued_at > 0 for j in jobs)
        assert await backend.claim(OUTBOUND, "w1", 100) == []

    async def test_unacked_jobs_come_back_on_the_next_claim(self, backend: QueueBackend) -> None:
        await backend.enqueue(INBOUND, jobs_for("ann", *(f"m{n}" for n in range(5))))
        await backend.rebalance(INBOUND, "w1")
        assert payloads(await backend.claim(INBOUND, "w1", 3)) == ["m0", "m1", "m2"]
        assert payloads(await backend.claim(INBOUND, "w1", 10)) == [f"m{n}" for n in range(5)]

    async def test_a_repeated_provider_event_is_stored_once(self, backend: QueueBackend) -> None:
        first = NewJob(key="ann", payload="hello", dedupe_key="telegram:1")
        again = NewJob(key="ann", payload="hello again", dedupe_key="telegram:1")
        await asyncio.gather(backend.enqueue(INBOUND, [first]), backend.enqueue(INBOUND, [again]))
        await backend.enqueue(INBOUND, [again, NewJob(key="ann", payload="other")])
        await backend.enqueue(OUTBOUND, [again])  # dedupe keys are per queue
        assert await backend.depth(INBOUND) == 2
        await backend.rebalance(INBOUND, "w1")
        assert payloads(await backend.claim(INBOUND, "w1", 10)) == ["hello", "other"]
        assert await backend.depth(OUTBOUND) == 1

    async def test_an_acked_job_is_gone(self, backend: QueueBackend) -> None:
        await backend.enqueue(INBOUND, jobs_for("ann", "m1", "m2"))
        await backend.rebalance(INBOUND, "w1")
        first, _ = await backend.claim(INBOUND, "w1", 10)
        await backend.ack(INBOUND, [first])
        assert payloads(await backend.claim(INBOUND, "w1", 10)) == ["m2"]
        assert await backend.depth(INBOUND) == 1

    async def test_a_retried_job_comes_back_after_its_delay_with_one_more_attempt(
        self, backend: QueueBackend
    ) -> None:
        await backend.enqueue(OUTBOUND, jobs_for("ann", "send me"))
        await backend.rebalance(OUTBOUND, "w1")
        for attempt in (1, 2):
            [job] = await backend.claim(OUTBOUND, "w1", 10)
            started = time.monotonic()
            await backend.retry(job, 0.05, "provider said 503")

            async def back(want: int = attempt) -> list[Job]:
                return [j for j in await backend.claim(OUTBOUND, "w1", 10) if j.attempts == want]

            [again] = await eventually(back, what=f"retry {attempt}")
            assert time.monotonic() - started >= 0.04
            assert (again.payload, again.partition) == ("send me", job.partition)
        assert await backend.depth(OUTBOUND) == 1

    async def test_a_dead_lettered_job_is_kept_aside_with_its_error(
        self, backend: QueueBackend
    ) -> None:
        await backend.enqueue(OUTBOUND, jobs_for("ann", "poison", "fine"))
        await backend.rebalance(OUTBOUND, "w1")
        poison, _ = await backend.claim(OUTBOUND, "w1", 10)
        await backend.dead_letter(poison, "bad payload")
        assert payloads(await backend.claim(OUTBOUND, "w1", 10)) == ["fine"]
        assert await dead_letters(backend, OUTBOUND) == [("poison", "bad payload")]
        assert await backend.depth(OUTBOUND) == 1

    async def test_two_consumers_split_the_partitions_and_never_share_one(
        self, backend: QueueBackend
    ) -> None:
        held: dict[str, set[int]] = {"w1": set(), "w2": set()}
        for _ in range(4):
            for name in ("w1", "w2"):
                held[name] = await backend.rebalance(INBOUND, name)
                assert not held["w1"] & held["w2"]
        assert len(held["w1"]) == len(held["w2"]) == PARTITIONS // 2
        for _ in range(3):  # racing rebalances must not double-book a partition either
            held["w1"], held["w2"] = await asyncio.gather(
                backend.rebalance(INBOUND, "w1"), backend.rebalance(INBOUND, "w2")
            )
            assert not held["w1"] & held["w2"]
        keys = [f"customer-{n}" for n in range(40)]
        await backend.enqueue(INBOUND, [NewJob(key=k, payload=k) for k in keys])
        got = {name: payloads(await backend.claim(INBOUND, name, 100)) for name in held}
        assert sorted(got["w1"] + got["w2"]) == sorted(keys)
        assert all(partition_of(k) in held["w1"] for k in got["w1"])

    @short_leases
    async def test_a_dead_consumers_partitions_and_unacked_jobs_go_to_a_survivor(
        self, backend: QueueBackend
    ) -> None:
        keys = [f"customer-{n}" for n in range(20)]
        await backend.enqueue(INBOUND, [NewJob(key=k, payload=k) for k in keys])
        await backend.rebalance(INBOUND, "dying")
        assert len(await backend.claim(INBOUND, "dying", 100)) == len(keys)
        # "dying" never acks, never releases, never heartbeats again.

        async def survivor_holds_all() -> bool:
            return len(await backend.rebalance(INBOUND, "survivor")) == PARTITIONS

        await eventually(survivor_holds_all, what="the survivor to take every partition")
        assert sorted(payloads(await backend.claim(INBOUND, "survivor", 100))) == sorted(keys)

    @short_leases
    async def test_one_customers_order_survives_a_takeover(self, backend: QueueBackend) -> None:
        await backend.enqueue(INBOUND, jobs_for("ann", *(f"m{n}" for n in range(8))))
        await backend.rebalance(INBOUND, "dying")
        claimed = await backend.claim(INBOUND, "dying", 5)
        assert payloads(claimed) == ["m0", "m1", "m2", "m3", "m4"]
        await backend.ack(INBOUND, claimed[:2])
        await backend.enqueue(INBOUND, jobs_for("ann", "m8", "m9"))

        async def taken_over() -> list[Job]:
            if partition_of("ann") not in await backend.rebalance(INBOUND, "survivor"):
                return []
            return await backend.claim(INBOUND, "survivor", 100)

        jobs = await eventually(taken_over, what="the survivor to take the customer over")
        assert payloads(jobs) == [f"m{n}" for n in range(2, 10)]

    async def test_a_released_consumer_hands_its_partitions_on_at_once(
        self, backend: QueueBackend
    ) -> None:
        await backend.rebalance(INBOUND, "w1")
        await backend.enqueue(INBOUND, jobs_for("ann", "m1"))
        assert payloads(await backend.claim(INBOUND, "w1", 10)) == ["m1"]
        await backend.release(INBOUND, "w1")
        assert await backend.claim(INBOUND, "w1", 10) == []
        assert await backend.rebalance(INBOUND, "w2") == set(range(PARTITIONS))
        assert payloads(await backend.claim(INBOUND, "w2", 10)) == ["m1"]

    async def test_depth_counts_waiting_claimed_and_delayed_jobs(
        self, backend: QueueBackend
    ) -> None:
        assert await backend.depth(INBOUND) == 0
        await backend.enqueue(INBOUND, jobs_for("ann", "m1", "m2", "m3", "m4"))
        assert await backend.depth(INBOUND) == 4
        await backend.rebalance(INBOUND, "w1")
        m1, m2, m3, _ = await backend.claim(INBOUND, "w1", 10)
        assert await backend.depth(INBOUND) == 4
        await backend.ack(INBOUND, [m1])
        await backend.retry(m2, 60, "later")
        assert await backend.depth(INBOUND) == 3
        await backend.dead_letter(m3, "never")
        assert await backend.depth(INBOUND) == 2

    async def test_wait_for_work_returns_within_its_timeout(self, backend: QueueBackend) -> None:
        await asyncio.wait_for(backend.wait_for_work(INBOUND, 0.05), 2)
        await backend.enqueue(INBOUND, jobs_for("ann", "m1"))
        await asyncio.wait_for(backend.wait_for_work(INBOUND, 30), 2)
        await backend.ping()


async def test_the_redis_queue_survives_a_redis_restart(queue_redis: RedisServer) -> None:
    await flushall(queue_redis.url)
    queue = RedisStreamsQueue(queue_redis.url)
    await queue.start()
    try:
        await queue.enqueue(INBOUND, [NewJob(key="ann", payload="m1", dedupe_key="d1")])
        queue_redis.restart()
        await queue.enqueue(INBOUND, [NewJob(key="ann", payload="m1 again", dedupe_key="d1")])
        await queue.enqueue(INBOUND, jobs_for("ann", "m2"))
        await queue.rebalance(INBOUND, "w1")
        assert payloads(await queue.claim(INBOUND, "w1", 10)) == ["m1", "m2"]

        queue_redis.down()
        started = time.monotonic()
        with pytest.raises(QueueUnavailable, match="unavailable"):
            await queue.enqueue(INBOUND, jobs_for("ann", "m3"))
        assert time.monotonic() - started < 15
        queue_redis.up()
        await queue.enqueue(INBOUND, jobs_for("ann", "m3"))
        await queue.ping()
        assert payloads(await queue.claim(INBOUND, "w1", 10)) == ["m1", "m2", "m3"]
    finally:
        await queue.close()


async def test_the_redis_queue_enqueues_after_redis_forgot_its_scripts(
    queue_redis: RedisServer,
) -> None:
    """Webhooks send the enqueue script by its hash: a Redis whose scripts were flushed
    answers NOSCRIPT to the whole batch, which is then sent again, once, with the script."""
    await flushall(queue_redis.url)
    queue = RedisStreamsQueue(queue_redis.url)
    await queue.start()
    try:
        await queue.redis.script_flush()
        await queue.enqueue(INBOUND, [NewJob(key="ann", payload="m1", dedupe_key="d1")])
        await queue.enqueue(INBOUND, [NewJob(key="ann", payload="m1 again", dedupe_key="d1")])
        await queue.rebalance(INBOUND, "w1")
        assert payloads(await queue.claim(INBOUND, "w1", 10)) == ["m1"]
    finally:
        await queue.close()
