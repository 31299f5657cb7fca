"""The worker's routing chore: every `HUB_ROUTING_CHECK_SECONDS`, route new customer
messages (rules, out-of-hours replies) and assign waiting conversations
(hub.actions.routing), in one short write turn, committed and published together."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from hub import metrics
from hub.actions.assignment import RoutingTimes, assign_waiting, has_work
from hub.actions.routing import route_new_messages
from hub.actions.unit import commit_and_publish
from hub.chores.periodic import every
from hub.db import Database
from hub.models.base import utcnow
from hub.queue.port import QueueBackend
from hub.realtime import Broker
from hub.settings import Settings

log = logging.getLogger(__name__)


class RoutingChore:
    def __init__(self, db: Database, queue: QueueBackend, broker: Broker, settings: Settings):
        self.db, self.queue, self.broker, self.settings = db, queue, broker, settings

    async def run(self, stopping: asyncio.Event) -> None:
        await every(
            self.settings.routing_check_seconds, self.run_once, stopping, "routing: rules, hours"
        )

    async def run_once(self) -> tuple[int, int]:
        """(messages routed, conversations assigned) this turn."""
        settings = self.settings
        times = RoutingTimes(
            now=utcnow(),
            settle=timedelta(seconds=settings.routing_settle_seconds),
            online=timedelta(minutes=settings.online_minutes),
        )
        async with self.db.session() as session:
            if not await has_work(session, times, bots=settings.bots):
                return 0, 0
            await session.rollback()  # the reads above are not the write turn's snapshot
            async with self.db.writing():
                routed = await route_new_messages(session, times, bots=settings.bots)
                assigned = await assign_waiting(
                    session, times, bots=settings.bots, default_cap=settings.auto_assign_cap
                )
                await commit_and_publish(session, self.queue, self.broker)
        if assigned:
            metrics.routing_actions.labels("auto_assigned").inc(assigned)
        if routed or assigned:
            log.info("routing: %d message(s) routed, %d conversation(s) assigned", routed, assigned)
        return routed, assigned
