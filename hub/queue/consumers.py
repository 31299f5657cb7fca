"""Queue workers: each owns claim, ack, retry and dead-lettering for its queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub import metrics
from hub.actions.agent_bot import do_note_for_bot
from hub.actions.attachments import FileAttacher
from hub.actions.bots import BotRunner
from hub.actions.delivery import (
    OPTED_OUT_ERROR,
    Outcome,
    do_set_delivery_status,
    load_sends,
    record_outcomes,
    stranded_outbound,
)
from hub.actions.unit import commit_and_publish, defer_send
from hub.db import Database
from hub.domain.messages import DeliveryReceipt, InboundMessage, OutboundMessage, Routed
from hub.domain.ports import SendingAdapter
from hub.domain.types import Channel, MessageStatus
from hub.errors import ProviderError
from hub.queue.outbound import OutboundJob
from hub.queue.port import INBOUND, OUTBOUND, Job, QueueBackend
from hub.realtime import Broker
from hub.routing import plan_batch, store_batch

log = logging.getLogger(__name__)

REBALANCE_SECONDS = 3.0
MAX_INBOUND_ATTEMPTS = 8
MAX_SEND_ATTEMPTS = 6
MAX_BACKOFF_SECONDS = 300.0


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential with jitter; a provider's retry_after wins when it is longer."""
    delay = min(MAX_BACKOFF_SECONDS, 2.0**attempt) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0.0)


def is_outage(exc: BaseException) -> bool:
    """The database or queue is away: wait and retry the batch, never count it against a job."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, DBAPIError):
        return (
            exc.connection_invalidated
            or "OperationalError" in type(exc.orig).__name__
            or _server_gone(exc.orig)
        )
    return isinstance(
        exc, (OSError, ConnectionError, TimeoutError, RedisConnectionError, RedisTimeoutError)
    )


# PostgreSQL's SQLSTATE classes for a lost connection (08) and a server shutting down or
# starting up (57P01-57P03): a restart, not a bad job.
_OUTAGE_SQLSTATES = ("08", "57P")


def _server_gone(error: BaseException | None) -> bool:
    """asyncpg's errors of a PostgreSQL restart, which SQLAlchemy does not flag as one."""
    code = str(getattr(error, "sqlstate", None) or "")
    cause = getattr(error, "__cause__", None)
    lost = type(cause).__name__ == "ConnectionDoesNotExistError"  # closed mid-operation
    return code.startswith(_OUTAGE_SQLSTATES) or lost


class Consumer(ABC):
    """Claim jobs of the partitions this consumer leases, handle them, ack them."""

    queue: str
    batch_size = 200

    def __init__(self, backend: QueueBackend, name: str) -> None:
        self.backend = backend
        self.name = name
        self._next_rebalance = 0.0

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            while not stopping.is_set():
                try:
                    if time.monotonic() >= self._next_rebalance:
                        await self.backend.rebalance(self.queue, self.name)
                        self._next_rebalance = time.monotonic() + REBALANCE_SECONDS
                        await self.housekeeping()
                    jobs = await self.backend.claim(self.queue, self.name, self.batch_size)
                    if jobs:
                        await self.handle(jobs)
                    else:
                        await self.backend.wait_for_work(self.queue, 1.0)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s consumer %s: batch failed, will retry", self.queue, self.name)
                    await asyncio.sleep(0.5)
        finally:
            with contextlib.suppress(Exception):
                await self.backend.release(self.queue, self.name)

    @abstractmethod
    async def handle(self, jobs: list[Job]) -> None: ...

    async def housekeeping(self) -> None:
        return None


class InboundConsumer(Consumer):
    """Routes inbound events in batches: one transaction and one commit per batch; with
    bots, they answer afterwards in a short write turn of their own (hub.actions.bots)."""

    queue = INBOUND
    batch_size = 500

    def __init__(
        self,
        backend: QueueBackend,
        name: str,
        db: Database,
        broker: Broker,
        bots: BotRunner,
        *,
        agent_bot: bool = False,
    ) -> None:
        super().__init__(backend, name)
        self.db = db
        self.broker = broker
        self.bots = bots
        self.agent_bot = agent_bot  # HUB_AGENT_BOT_URL set: queue events for the external bot

    async def handle(self, jobs: list[Job]) -> None:
        try:
            await self._route(jobs)
        except Exception as exc:
            if is_outage(exc):
                raise  # the run loop waits and claims the same batch again
            # A race on a new identity, or one bad event: route one by one, so the rest of
            # the batch goes through and only a job that keeps failing is dead-lettered.
            log.warning("inbound batch failed (%r); routing its %d jobs one by one", exc, len(jobs))
            for job in jobs:
                await self._route_one(job)

    async def _route_one(self, job: Job) -> None:
        try:
            await self._route([job])
        except Exception as exc:
            if is_outage(exc):
                raise
            if job.attempts + 1 >= MAX_INBOUND_ATTEMPTS:
                log.error("inbound job %s dead-lettered: %s", job.id, exc)
                await self.backend.dead_letter(job, repr(exc))
            else:
                await self.backend.retry(job, backoff(job.attempts), repr(exc))
            return

    async def _route(self, jobs: list[Job]) -> None:
        """Route and ack: reads first, then one short write turn that commits both. With
        bots the ack waits for their write turn: a worker killed in between gets the jobs
        again, and the bots answer what they have not answered yet."""
        batch = [InboundMessage.from_json(job.payload) for job in jobs]
        async with self.db.session() as session:
            plan = await plan_batch(session, batch)
            async with self.db.writing():
                routed = [] if plan is None else await store_batch(session, plan)
                if self.agent_bot:  # its events commit with the messages they name
                    await do_note_for_bot(session, routed)
                acked = not self.bots.answers and await self.backend.ack_within(
                    session, self.queue, jobs
                )
                await commit_and_publish(session, self.backend, self.broker)
        self._count(routed)
        answered = await self.bots.answer(
            self.db,
            self.backend,
            self.broker,
            batch,
            lambda s: self.backend.ack_within(s, self.queue, jobs),
            routed,
        )
        if not (acked or answered):
            await self.backend.ack(self.queue, jobs)

    def _count(self, routed: list[Routed]) -> None:
        now = time.time()
        per_channel: dict[str, int] = defaultdict(int)
        for item in routed:
            per_channel[item.inbound.channel.value] += 1
            if item.inbound.received_at:
                metrics.route_latency.observe(max(0.0, now - item.inbound.received_at))
        for channel, count in per_channel.items():
            metrics.messages_routed.labels(channel).inc(count)


RECORD_LINGER_SECONDS = 0.02


class _Recorder:
    """Group commit for one batch's send outcomes. The first sender to finish writes: it
    first waits (at most RECORD_LINGER_SECONDS) for the provider calls still in flight, so
    a batch whose provider answers at once is recorded in one write turn instead of one for
    the first finisher and another for the rest; it keeps writing what the others finished
    meanwhile until nothing is left. The duplicate window (sent, not yet recorded) stays
    about one write turn plus that linger long, never one batch's."""

    def __init__(
        self,
        write: Callable[[list[tuple[Job, Outcome | None]]], Awaitable[None]],
        linger: float = RECORD_LINGER_SECONDS,
    ) -> None:
        self.write = write
        self.linger = linger
        self.pending: list[tuple[Job, Outcome | None]] = []
        self._writing = False
        self._sending = 0  # provider calls of this batch in flight
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Around one provider call: the writer waits for the calls in flight."""
        self._sending += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._sending -= 1
            if not self._sending:
                self._quiet.set()

    async def add(self, job: Job, outcome: Outcome) -> None:
        self.pending.append((job, outcome))
        await self.flush()

    async def flush(self) -> None:
        if self._writing:
            return  # the writer takes this one along
        self._writing = True
        try:
            while self.pending:
                if self._sending:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._quiet.wait(), self.linger)
                batch, self.pending = self.pending, []
                await self.write(batch)
        finally:
            self._writing = False


class OutboundConsumer(Consumer):
    """Sends replies through their channel's adapter, retrying with backoff, ending visibly."""

    queue = OUTBOUND
    batch_size = 100

    def __init__(
        self,
        backend: QueueBackend,
        name: str,
        db: Database,
        broker: Broker,
        senders: Mapping[Channel, SendingAdapter],
        files: FileAttacher | None = None,
    ) -> None:
        super().__init__(backend, name)
        self.db = db
        self.broker = broker
        self.senders = senders
        self.files = files
        self.record_linger = RECORD_LINGER_SECONDS  # tests lengthen it to pin one write turn
        self._last_sweep = time.monotonic()

    async def handle(self, jobs: list[Job]) -> None:
        """A batch: its sends read in a few Core statements, sent concurrently across
        conversations and in order within one, their outcomes and acks committed together
        in shared write turns (a group commit, _Recorder: one turn for a batch the provider
        answers at once, the duplicate window about one write turn long, not one batch's)."""
        sends: list[tuple[Job, OutboundJob]] = []
        unreadable: list[Job] = []
        for job in jobs:
            try:
                sends.append((job, OutboundJob.read(job.payload)))
            except (ValueError, KeyError, TypeError):
                unreadable.append(job)
        try:
            async with self.db.session() as session:
                loaded = await load_sends(session, [send for _, send in sends])
                if self.files is not None and loaded:
                    loaded = await self.files.attach_all(session, loaded)
        except Exception as exc:
            if is_outage(exc):
                raise  # nothing sent yet: the run loop waits and claims the batch again
            if len(jobs) > 1:
                log.warning("outbound batch load failed (%r); sending its jobs one by one", exc)
                await self._handle_one_by_one(jobs)
                return
            # One job whose send cannot even be read: a failed try of it, like any
            # unexpected error (retried, then the message failed and the job dead-lettered).
            log.exception("loading the send of job %s failed", jobs[0].id)
            message_id = sends[0][1].message_id if sends else None
            unexpected = ProviderError(f"unexpected error: {exc!r}"[:2000], retryable=True)
            await self._failed(jobs[0], message_id, None, unexpected, dead_letter=True)
            return
        recorder = _Recorder(self._record_batch, self.record_linger)
        by_conversation: dict[int, list[tuple[Job, OutboundMessage]]] = defaultdict(list)
        for job, send in sends:
            # A second job of one reply (the stranded-reply sweep's, say) only needs its ack,
            # as it would find the reply sent had it run after the first.
            outbound = loaded.pop(send.message_id, None)
            if outbound is None:
                recorder.pending.append((job, None))  # nothing left to send: only the ack
            else:
                by_conversation[outbound.conversation_id].append((job, outbound))
        for job in unreadable:  # counted as a failed try, like any unexpected error
            bad = ProviderError("unexpected error: unreadable outbound job", retryable=True)
            await self._failed(job, None, None, bad, dead_letter=True)
        # Every group settles before a failure reaches the run loop: it claims un-acked jobs
        # again, and a group still sending would then send its reply a second time.
        outcomes = await asyncio.gather(
            *(self._send_group(group, recorder) for group in by_conversation.values()),
            return_exceptions=True,
        )
        await recorder.flush()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _handle_one_by_one(self, jobs: list[Job]) -> None:
        """For a batch whose load failed: each job as a batch of its own, in order within a
        partition, so a bad job fails alone."""
        by_partition: dict[int, list[Job]] = defaultdict(list)
        for job in jobs:
            by_partition[job.partition].append(job)

        async def in_order(group: list[Job]) -> None:
            for job in group:
                await self.handle([job])

        outcomes = await asyncio.gather(
            *(in_order(group) for group in by_partition.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _send_group(
        self, group: list[tuple[Job, OutboundMessage]], recorder: _Recorder
    ) -> None:
        """One conversation's sends of the batch, one after the other."""
        for job, outbound in group:
            try:
                with recorder.sending():
                    receipt = await self._deliver(outbound)
            except ProviderError as exc:
                await self._failed(job, outbound.message_id, outbound.channel, exc)
                continue
            except Exception as exc:
                if is_outage(exc):
                    raise
                log.exception("send of job %s (message %s) failed", job.id, outbound.message_id)
                unexpected = ProviderError(f"unexpected error: {exc!r}"[:2000], retryable=True)
                await self._failed(
                    job, outbound.message_id, outbound.channel, unexpected, dead_letter=True
                )
                continue
            status = MessageStatus.DELIVERED if receipt.delivered else MessageStatus.SENT
            external_id = receipt.external_id[:255] if receipt.external_id else None
            await recorder.add(job, Outcome(outbound.message_id, status, external_id))
            metrics.outbound_sent.labels(outbound.channel.value).inc()

    async def _record_batch(self, batch: list[tuple[Job, Outcome | None]]) -> None:
        """Outcomes and their acks in one write turn. A database outage is waited out
        (giving up would send those replies again); any other error falls back to recording
        them one by one, with the per-send fallbacks of _record_sent."""
        jobs = [job for job, _ in batch]
        outcomes = [outcome for _, outcome in batch if outcome is not None]
        while True:
            try:
                async with self.db.session() as session:
                    async with self.db.writing():
                        await record_outcomes(session, outcomes)
                        acked = await self.backend.ack_within(session, self.queue, jobs)
                        await commit_and_publish(session, self.backend, self.broker)
                if not acked:
                    await self.backend.ack(self.queue, jobs)
                return
            except Exception as exc:
                if is_outage(exc):
                    log.warning("recording %d sends waits for the database", len(batch))
                    await asyncio.sleep(0.5)
                    continue
                log.exception("recording %d sends failed; one by one", len(batch))
                break
        for job, outcome in batch:
            if outcome is None:
                await self.backend.ack(self.queue, [job])
            else:
                await self._record_sent(
                    job, outcome.message_id, outcome.status, outcome.external_id
                )

    async def _deliver(self, outbound: OutboundMessage) -> DeliveryReceipt:
        if outbound.opted_out:  # the core's rule: no adapter is asked to send it
            raise ProviderError(OPTED_OUT_ERROR, retryable=False)
        sender = self.senders.get(outbound.channel)
        if sender is None:
            raise ProviderError(f"the {outbound.channel} channel is not enabled", retryable=False)
        try:
            return await sender.send(outbound)
        except (TimeoutError, OSError) as exc:
            raise ProviderError(repr(exc), retryable=True) from None

    async def _record_sent(
        self, job: Job, message_id: int, status: MessageStatus, external_id: str | None
    ) -> None:
        """The provider has the reply: wait out a database outage to record it, because
        giving up here would hand the job back and send the reply a second time. Any other
        error is not retried either (that would also send again): the status is recorded
        without the provider's id, or failing that the job is dead-lettered."""
        external_id = external_id[:255] if external_id else external_id
        while True:
            try:
                await self._set_status(message_id, status, done=job, external_id=external_id)
                return
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("recording the send of message %s failed", message_id)
                    if external_id is not None:
                        external_id = None
                        continue
                    await self.backend.dead_letter(job, f"sent, not recorded: {exc!r}")
                    return
                log.warning("recording the send of message %s waits for the database", message_id)
                await asyncio.sleep(0.5)

    async def _failed(
        self,
        job: Job,
        message_id: int | None,
        channel: Channel | None,
        exc: ProviderError,
        *,
        dead_letter: bool = False,
    ) -> None:
        """A failed try: again after a backoff, or for good (the message `failed` with the
        error; with `dead_letter`, an unexpected error, the job is kept as a dead letter)."""
        if exc.retryable and job.attempts + 1 < MAX_SEND_ATTEMPTS:
            delay = backoff(job.attempts, exc.retry_after)
            log.warning("send of message %s failed (%s), retry in %.1fs", message_id, exc, delay)
            # What the provider already accepted rides with the job: the retry resumes there.
            payload = None
            if exc.progress is not None and message_id is not None:
                payload = OutboundJob(message_id, progress=exc.progress).payload()
            await self.backend.retry(job, delay, exc.message, payload)
            return
        log.error("send of message %s failed for good: %s", message_id, exc.message)
        if message_id is None:  # not even a message to mark: only the dead letter tells
            await self.backend.dead_letter(job, exc.message)
            return
        try:
            await self._set_status(
                message_id,
                MessageStatus.FAILED,
                done=None if dead_letter else job,
                error=exc.message,
            )
        except Exception as error:
            if is_outage(error):
                raise
            log.exception("message %s could not be marked failed", message_id)
            dead_letter = True  # the job must still leave its partition
        if dead_letter:
            await self.backend.dead_letter(job, exc.message)
        if channel is not None:
            metrics.outbound_failed.labels(channel.value).inc()

    async def _set_status(
        self, message_id: int, status: MessageStatus, *, done: Job | None, **fields: str | None
    ) -> None:
        """Record the outcome and ack `done`: in one transaction where the queue lives in
        the database (one write turn instead of two), else right after the commit."""
        jobs = [done] if done is not None else []
        async with self.db.session() as session:
            async with self.db.writing():
                await do_set_delivery_status(session, message_id, status, **fields)
                acked = not jobs or await self.backend.ack_within(session, self.queue, jobs)
                await commit_and_publish(session, self.backend, self.broker)
        if not acked:
            await self.backend.ack(self.queue, jobs)

    async def housekeeping(self) -> None:
        """Re-queue replies whose job was lost (a crash between commit and enqueue)."""
        if time.monotonic() - self._last_sweep < 60:
            return
        self._last_sweep = time.monotonic()
        async with self.db.session() as session:
            stranded = await stranded_outbound(session, older_than=60)
            if not stranded:
                return
            for message in stranded:
                defer_send(session, message)
            async with self.db.writing():
                await commit_and_publish(session, self.backend, self.broker)
