"""The order-feed queue: a webhook queues a verified delivery; this consumer applies it.

One delivery a transaction: feeds are a trickle next to messages, and a delivery that
cannot be applied (an order whose fields the upsert refuses) must fail alone. One order's
deliveries share a partition, so they are applied in the order they arrived.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from hub import metrics
from hub.actions.feeds import FeedOutcome, Notices, do_apply_feed_order, do_record_delivery
from hub.actions.unit import commit_and_publish
from hub.db import Database
from hub.domain.feeds import FeedDelivery
from hub.errors import HubError
from hub.queue.consumers import MAX_INBOUND_ATTEMPTS, Consumer, backoff, is_outage
from hub.queue.port import FEEDS, Job, NewJob, QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)

# Two first deliveries of one new customer in different partitions (an order and another
# order of theirs) may race to create the customer: the loser tries again and finds it.
RACE_ATTEMPTS = 3


def feed_job(delivery: FeedDelivery) -> NewJob:
    order = delivery.order
    return NewJob(
        key=order.key,
        payload=delivery.to_json(),
        dedupe_key=f"{order.source}:{delivery.delivery_id}",
    )


async def accept_feed(queue: QueueBackend, delivery: FeedDelivery) -> None:
    """Return once the delivery is durable (the caller may then answer the platform)."""
    await queue.enqueue(FEEDS, [feed_job(delivery)])


class FeedConsumer(Consumer):
    queue = FEEDS
    batch_size = 50

    def __init__(
        self, backend: QueueBackend, name: str, db: Database, broker: Broker, notices: Notices
    ) -> None:
        super().__init__(backend, name)
        self.db = db
        self.broker = broker
        self.notices = notices

    async def handle(self, jobs: list[Job]) -> None:
        for job in jobs:
            await self._handle_one(job)

    async def _handle_one(self, job: Job) -> None:
        try:
            delivery = FeedDelivery.from_json(job.payload)
        except (ValueError, KeyError, TypeError) as exc:
            await self.backend.dead_letter(job, f"unreadable feed job: {exc!r}")
            return
        try:
            outcome = await self._apply(job, delivery)
        except HubError as exc:
            # The platform's data the upsert refuses: trying again cannot help.
            log.warning("feed delivery %s refused: %s", delivery.delivery_id, exc.message)
            await self.backend.dead_letter(job, exc.message)
            outcome = "refused"
        except Exception as exc:
            if is_outage(exc):
                raise  # the run loop waits and claims the job again
            if job.attempts + 1 >= MAX_INBOUND_ATTEMPTS:
                log.error("feed job %s dead-lettered: %r", job.id, exc)
                await self.backend.dead_letter(job, repr(exc))
            else:
                log.warning("feed job %s failed (%r), will retry", job.id, exc)
                await self.backend.retry(job, backoff(job.attempts), repr(exc))
            return
        metrics.feed_events.labels(delivery.order.source, outcome).inc()

    async def _apply(self, job: Job, delivery: FeedDelivery) -> str:
        """Apply the delivery (once per delivery id) and ack it in one commit."""
        order, tries = delivery.order, 0
        while True:
            try:
                async with self.db.writing(), self.db.session() as session:
                    outcome = FeedOutcome.REPEAT
                    if await do_record_delivery(session, order.source, delivery.delivery_id):
                        outcome = await do_apply_feed_order(session, order, self.notices)
                    acked = await self.backend.ack_within(session, self.queue, [job])
                    await commit_and_publish(session, self.backend, self.broker)
                break
            except IntegrityError:
                tries += 1
                if tries >= RACE_ATTEMPTS:
                    raise
        if not acked:
            await self.backend.ack(self.queue, [job])
        log.info(
            "feed %s delivery %s (%s) of order %s: %s",
            order.source,
            delivery.delivery_id,
            delivery.topic,
            order.source_id,
            outcome,
        )
        return outcome.value
