"""The `webhooks` queue: each job POSTs one delivery (hub.actions.webhook_outbox wrote it
with the change it tells of), retried with backoff until delivered or out of tries.

One subscription's deliveries are sent one after another, different subscriptions at the
same time, so a slow target delays only its own events. Every try lands in the delivery
log with its status code, error and duration.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from hub import metrics
from hub.actions.webhook_log import (
    DELIVERED,
    FAILED,
    PENDING,
    DueDelivery,
    do_prune,
    do_record_attempt,
    load_due,
    stranded_deliveries,
)
from hub.actions.webhook_outbox import WebhookJob
from hub.db import Database
from hub.models.base import utcnow
from hub.queue.consumers import Consumer, is_outage
from hub.queue.port import WEBHOOKS, Job, NewJob, QueueBackend
from hub.queue.webhook_http import PostResult, WebhookSender

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 3600.0
SWEEP_SECONDS = 60.0
# A pending delivery this long past its due time lost its job; queued again.
OVERDUE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 10
    first_delay: float = 5.0
    keep_days: float = 7.0

    def delay(self, attempts_made: int, retry_after: float | None) -> float:
        base = min(MAX_DELAY_SECONDS, self.first_delay * 2 ** (attempts_made - 1))
        return max(base * random.uniform(0.8, 1.2), min(retry_after or 0.0, MAX_DELAY_SECONDS))


class WebhookConsumer(Consumer):
    queue = WEBHOOKS
    batch_size = 100

    def __init__(
        self,
        backend: QueueBackend,
        name: str,
        db: Database,
        sender: WebhookSender,
        policy: RetryPolicy,
    ) -> None:
        super().__init__(backend, name)
        self.db = db
        self.sender = sender
        self.policy = policy
        self._last_sweep = 0.0

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            await super().run(stopping)
        finally:
            await self.sender.close()

    async def handle(self, jobs: list[Job]) -> None:
        readable: list[tuple[Job, WebhookJob]] = []
        for job in jobs:
            try:
                readable.append((job, WebhookJob.read(job.payload)))
            except (ValueError, KeyError, TypeError) as exc:
                await self.backend.dead_letter(job, f"unreadable webhook job: {exc!r}")
        async with self.db.session() as session:
            due = await load_due(session, [w.delivery for _, w in readable])
        groups: dict[int, list[tuple[Job, DueDelivery]]] = defaultdict(list)
        done: list[Job] = []
        for job, wanted in readable:
            found = due.get(wanted.delivery)
            if found is None:
                done.append(job)  # delivered, failed for good or deleted: nothing to send
            else:
                groups[found.subscription_id].append((job, found))
        if done:
            await self.backend.ack(self.queue, done)
        outcomes = await asyncio.gather(
            *(self._send_group(group) for group in groups.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _send_group(self, group: list[tuple[Job, DueDelivery]]) -> None:
        sent: set[int] = set()
        for job, due in group:
            if due.id in sent:  # a second job of one delivery (the sweep's): only its ack
                await self.backend.ack(self.queue, [job])
                continue
            sent.add(due.id)
            result = await self.sender.post(due.url, due.secret, due.event, due.key, due.body)
            await self._record(job, due, result)

    async def _record(self, job: Job, due: DueDelivery, result: PostResult) -> None:
        made = due.attempts + 1
        again = result.retryable and made < self.policy.max_attempts
        outcome = DELIVERED if result.delivered else PENDING if again else FAILED
        delay = self.policy.delay(made, result.retry_after) if again else 0.0
        next_at = utcnow() + timedelta(seconds=delay) if again else None
        while True:
            try:
                async with self.db.writing(), self.db.session() as session:
                    await do_record_attempt(
                        session,
                        due,
                        status_code=result.status,
                        error=result.error,
                        duration_ms=result.duration_ms,
                        outcome=outcome,
                        next_attempt_at=next_at,
                    )
                    acked = not again and await self.backend.ack_within(session, self.queue, [job])
                    await session.commit()
                break
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("recording webhook delivery %s waits for the database", due.key)
                await asyncio.sleep(0.5)
        if again:
            await self.backend.retry(job, delay, result.error or "")
        elif not acked:
            await self.backend.ack(self.queue, [job])
        metrics.webhook_attempts.labels(
            "delivered" if result.delivered else "retry" if again else "failed"
        ).inc()
        log.log(
            logging.INFO if result.delivered else logging.WARNING,
            "webhook %s (%s) to subscription %s, try %d: %s",
            due.key,
            due.event,
            due.subscription_id,
            made,
            "delivered" if result.delivered else f"{result.error} ({outcome})",
        )

    async def housekeeping(self) -> None:
        """Queue lost jobs again and drop old finished deliveries, once a minute."""
        if time.monotonic() - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = time.monotonic()
        async with self.db.session() as session:
            stranded = await stranded_deliveries(session, OVERDUE_SECONDS)
        if stranded:
            log.warning("queueing %d stranded webhook deliveries again", len(stranded))
            jobs: list[NewJob] = [
                WebhookJob(key).queued(sid, try_number=attempts + 1)
                for key, sid, attempts in stranded
            ]
            await self.backend.enqueue(self.queue, jobs)
        async with self.db.writing(), self.db.session() as session:
            await do_prune(session, self.policy.keep_days)
            await session.commit()
