"""Queue on Redis Streams, for scale-out: one stream per (queue, partition), group `hub`.

Same contract as the database backend: at-least-once, a partition leased to one consumer at
a time, un-acked jobs handed back by every `claim` until acked. Durability is Redis' AOF.
Every read-modify-write (dedupe, leases, retry, delayed promotion) is one Lua script, so a
crash or a competing process never sees half of it. Times inside scripts come from Redis'
own clock, so hosts with skewed clocks still agree on leases and due times.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import QueueUnavailable
from hub.queue.group_commit import Batch, GroupCommit
from hub.queue.port import (
    PARTITIONS,
    PRODUCTION_LEASES,
    QUEUES,
    Job,
    Leases,
    NewJob,
    Wakeups,
    partition_of,
)

GROUP = "hub"
DEDUPE_SECONDS = 7 * 24 * 3600
SOCKET_TIMEOUT = 5.0
PROMOTE_BATCH = 1000

_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# Check first and set the key only after XADD succeeded: Redis does not roll a script back,
# so a failing XADD must never leave a dedupe key that would swallow the provider's retry.
_ENQUEUE = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return false end
local id = redis.call('XADD', KEYS[1], '*', 'payload', ARGV[1], 'enqueued_at', ARGV[2],
                      'attempts', '0')
if KEYS[2] then redis.call('SET', KEYS[2], id, 'EX', ARGV[3]) end
return id
"""

# KEYS: consumers zset, then one lease key per partition. Returns {held, newly taken}.
_REBALANCE = (
    _NOW_MS
    + """
local me, lease, alive_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, me)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - alive_ms)
local share = math.ceil((#KEYS - 1) / math.max(1, redis.call('ZCARD', KEYS[1])))
local held, taken = {}, {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == me then
    if #held < share then
      redis.call('PEXPIRE', KEYS[i], lease)
      held[#held + 1] = i - 2
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for i = 2, #KEYS do
  if #held >= share then break end
  if redis.call('SET', KEYS[i], me, 'NX', 'PX', lease) then
    held[#held + 1] = i - 2
    taken[#taken + 1] = i - 2
  end
end
return {held, taken}
"""
)

# KEYS: consumers zset, n lease keys, n streams. Forget the consumer in the group only when
# it has nothing pending, or a successor could no longer adopt those entries.
_RELEASE = """
local n = (#KEYS - 1) / 2
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, n + 1 do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
  local pending = redis.pcall('XPENDING', KEYS[i + n], ARGV[2], '-', '+', 1, ARGV[1])
  if type(pending) == 'table' and #pending == 0 then
    redis.pcall('XGROUP', 'DELCONSUMER', KEYS[i + n], ARGV[2], ARGV[1])
  end
end
"""

# Adopt every entry a previous owner left pending; the lease makes min-idle 0 safe.
_TAKEOVER = """
local cursor = '0-0'
repeat
  cursor = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, cursor,
                      'COUNT', 1000, 'JUSTID')[1]
until cursor == '0-0'
"""

# An entry already acked (by a successor that adopted it) is not retried: as in the database.
_RETRY = (
    _NOW_MS
    + """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4])
return 1
"""
)

_PROMOTE = (
    _NOW_MS
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  local job = cjson.decode(member)
  redis.call('XADD', ARGV[1] .. job.partition, '*', 'payload', job.payload,
             'enqueued_at', job.enqueued_at, 'attempts', job.attempts, 'error', job.error)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""
)


def _stream_order(job: Job) -> tuple[int, int]:
    ms, seq = job.id.split(":", 1)[1].split("-")
    return int(ms), int(seq)


class RedisStreamsQueue:
    name = "redis"

    def __init__(
        self, url: str, partitions: int = PARTITIONS, leases: Leases = PRODUCTION_LEASES
    ) -> None:
        self.partitions = partitions
        self.leases = leases
        # Few, fast retries: they reconnect after a Redis restart, yet a Redis that is down
        # fails the caller within seconds instead of stalling a webhook.
        self.redis = aioredis.from_url(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 2),
        )
        self._enqueue = self.redis.register_script(_ENQUEUE)
        self._rebalance = self.redis.register_script(_REBALANCE)
        self._release = self.redis.register_script(_RELEASE)
        self._takeover = self.redis.register_script(_TAKEOVER)
        self._retry = self.redis.register_script(_RETRY)
        self._promote = self.redis.register_script(_PROMOTE)
        self._wakeups = Wakeups()
        self._commits = GroupCommit(self._write_batch, self._wakeups, self._unavailable)
        self._groups: set[str] = set()
        self._held: dict[tuple[str, str], set[int]] = {}
        self._adopt: dict[tuple[str, str], set[int]] = {}

    def _stream(self, queue: str, partition: int) -> str:
        return f"hub:q:{queue}:{partition}"

    def _streams(self, queue: str) -> list[str]:
        return [self._stream(queue, p) for p in range(self.partitions)]

    def _leases(self, queue: str) -> list[str]:
        return [f"hub:lease:{queue}:{p}" for p in range(self.partitions)]

    async def start(self) -> None:
        for queue in QUEUES:
            await self._ensure_groups(queue)
        await self.redis.script_load(_ENQUEUE)  # the webhooks' EVALSHA finds it at once

    async def close(self) -> None:
        await self._commits.close()
        await self.redis.aclose()

    async def _ensure_groups(self, queue: str, *, force: bool = False) -> None:
        if queue in self._groups and not force:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self._streams(queue):
                # From id 0, not `$`: entries added before the group existed are work too.
                pipe.xgroup_create(stream, GROUP, id="0", mkstream=True)
            results = await pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result
        self._groups.add(queue)

    # ------------------------------------------------------------------ enqueue

    async def enqueue(self, queue: str, jobs: list[NewJob]) -> None:
        await self._commits.enqueue(queue, jobs)

    async def _write_batch(self, batch: Batch) -> None:
        """Every enqueue waiting right now in one round trip (concurrent webhooks).

        EVALSHA straight into the pipeline: a registered Script would make the pipeline
        ask SCRIPT EXISTS first, a second round trip per batch on every webhook's path. A
        Redis that lost its scripts (restart, SCRIPT FLUSH) answers NOSCRIPT to all of the
        batch, so nothing of it was written: load the script and send it again."""
        try:
            await self._send_batch(batch)
        except NoScriptError:
            await self.redis.script_load(_ENQUEUE)
            await self._send_batch(batch)

    async def _send_batch(self, batch: Batch) -> None:
        stamp = repr(time.time())
        sha = self._enqueue.sha
        async with self.redis.pipeline(transaction=False) as pipe:
            for queue, job in batch:
                keys = [self._stream(queue, partition_of(job.key, self.partitions))]
                if job.dedupe_key is not None:
                    keys.append(f"hub:dedupe:{queue}:{job.dedupe_key}")
                pipe.evalsha(sha, len(keys), *keys, job.payload, stamp, DEDUPE_SECONDS)
            await pipe.execute()

    def _unavailable(self, exc: Exception) -> Exception:
        if isinstance(exc, RedisError) and not isinstance(exc, ResponseError):
            kwargs = self.redis.connection_pool.connection_kwargs
            where = f"{kwargs.get('host')}:{kwargs.get('port')}"
            error = QueueUnavailable(f"the Redis queue at {where} is unavailable: {exc}")
            error.__cause__ = exc
            return error
        return exc

    async def wait_for_work(self, queue: str, timeout: float) -> None:
        await self._wakeups.wait(queue, timeout)

    # ------------------------------------------------------------------ leases

    async def rebalance(self, queue: str, consumer: str) -> set[int]:
        await self._ensure_groups(queue)
        keys = [f"hub:consumers:{queue}", *self._leases(queue)]
        lease_ms = int(self.leases.lease_seconds * 1000)
        alive_ms = int(self.leases.alive_seconds * 1000)
        held, taken = await self._rebalance(keys, [consumer, lease_ms, alive_ms])
        mine = {int(p) for p in held}
        self._held[(queue, consumer)] = mine
        adopt = self._adopt.setdefault((queue, consumer), set())
        adopt.update(int(p) for p in taken)
        adopt.intersection_update(mine)
        return set(mine)

    async def release(self, queue: str, consumer: str) -> None:
        self._held.pop((queue, consumer), None)
        self._adopt.pop((queue, consumer), None)
        keys = [f"hub:consumers:{queue}", *self._leases(queue), *self._streams(queue)]
        await self._release(keys, [consumer, GROUP])

    # ------------------------------------------------------------------ jobs

    async def claim(self, queue: str, consumer: str, limit: int) -> list[Job]:
        held = sorted(self._held.get((queue, consumer), ()))
        if not held or limit <= 0:
            return []
        try:
            return await self._claim(queue, consumer, held, limit)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost its data (no AOF, or flushed): recreate the groups, then go on.
            await self._ensure_groups(queue, force=True)
            return await self._claim(queue, consumer, held, limit)

    async def _claim(self, queue: str, consumer: str, held: list[int], limit: int) -> list[Job]:
        adopt = self._adopt.get((queue, consumer), set())
        adopting = sorted(adopt)
        streams = {self._stream(queue, p): p for p in held}
        async with self.redis.pipeline(transaction=False) as pipe:
            await self._promote([f"hub:delayed:{queue}"], [f"hub:q:{queue}:", PROMOTE_BATCH], pipe)
            for partition in adopting:
                await self._takeover([self._stream(queue, partition)], [GROUP, consumer], pipe)
            # Own pending entries first (un-acked ones come back, like the database's rows),
            # then new ones; both are read in the same round trip.
            pipe.xreadgroup(GROUP, consumer, dict.fromkeys(streams, "0"), count=limit)
            pipe.xreadgroup(GROUP, consumer, dict.fromkeys(streams, ">"), count=limit)
            *_, pending, fresh = await pipe.execute()
        adopt.difference_update(adopting)
        jobs: list[Job] = []
        deleted: list[tuple[str, str]] = []
        for stream, entries in [*(pending or []), *(fresh or [])]:
            partition = streams[stream]
            for entry_id, fields in entries:
                if not fields:  # deleted under us (trimmed); nothing left to hand out
                    deleted.append((stream, entry_id))
                    continue
                jobs.append(self._job(queue, partition, entry_id, fields))
        if deleted:
            async with self.redis.pipeline(transaction=False) as pipe:
                for stream, entry_id in deleted:
                    pipe.xack(stream, GROUP, entry_id)
                await pipe.execute()
        # Entries left out by the limit stay pending for us and lead the next claim.
        return sorted(jobs, key=_stream_order)[:limit]

    def _job(self, queue: str, partition: int, entry_id: str, fields: dict[str, str]) -> Job:
        return Job(
            id=f"{partition}:{entry_id}",
            queue=queue,
            partition=partition,
            payload=fields["payload"],
            attempts=int(fields.get("attempts", 0)),
            enqueued_at=float(fields.get("enqueued_at", 0.0)),
        )

    def _entry(self, job: Job) -> tuple[str, str]:
        return self._stream(job.queue, job.partition), job.id.split(":", 1)[1]

    async def ack(self, queue: str, jobs: list[Job]) -> None:
        if not jobs:
            return
        by_stream: dict[str, list[str]] = {}
        for job in jobs:
            stream, entry_id = self._entry(job)
            by_stream.setdefault(stream, []).append(entry_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for stream, ids in by_stream.items():
                pipe.xack(stream, GROUP, *ids)
                pipe.xdel(stream, *ids)
            await pipe.execute()

    async def enqueue_within(self, session: AsyncSession, queue: str, jobs: list[NewJob]) -> bool:
        return False  # Redis is not part of the database transaction

    async def ack_within(self, session: AsyncSession, queue: str, jobs: list[Job]) -> bool:
        return False  # Redis is not part of the database transaction

    async def retry(self, job: Job, delay: float, error: str, payload: str | None = None) -> None:
        stream, entry_id = self._entry(job)
        member = json.dumps(
            {
                "partition": str(job.partition),
                "payload": job.payload if payload is None else payload,
                "enqueued_at": repr(job.enqueued_at),
                "attempts": str(job.attempts + 1),
                "error": error[:2000],
                "id": job.id,  # keeps two retries with equal payloads distinct members
            }
        )
        keys = [stream, f"hub:delayed:{job.queue}"]
        await self._retry(keys, [GROUP, entry_id, int(delay * 1000), member])

    async def dead_letter(self, job: Job, error: str) -> None:
        stream, entry_id = self._entry(job)
        fields: dict[Any, Any] = {
            "payload": job.payload,
            "error": error[:4000],
            "attempts": job.attempts,
            "partition": job.partition,
            "enqueued_at": repr(job.enqueued_at),
            "failed_at": repr(time.time()),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(f"hub:dead:{job.queue}", fields)
            pipe.xack(stream, GROUP, entry_id)
            pipe.xdel(stream, entry_id)
            await pipe.execute()

    async def depth(self, queue: str) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self._streams(queue):
                pipe.xlen(stream)
            pipe.zcard(f"hub:delayed:{queue}")
            return sum(int(n) for n in await pipe.execute())

    async def ping(self) -> None:
        await self.redis.ping()
