"""The worker's snooze alarm: snoozed conversations whose time has come are open again.

Only a new customer message reopened a snoozed conversation (hub/routing.py); an operator
who snoozed "until Monday 9:00" expects it back in the Open tab then, message or not.
One set-based UPDATE ... WHERE status='snoozed' AND snooze_until <= now per tick: with two
workers, each row is changed by whichever statement reaches it first and the other one no
longer matches it, so a conversation wakes once and its events are published once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.unit import commit_and_publish, record
from hub.chores.periodic import every
from hub.db import Database
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import ConversationStatus
from hub.models.base import utcnow
from hub.models.tables import CONVERSATIONS
from hub.queue.port import QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)


async def do_wake_due(session: AsyncSession, now: datetime) -> int:
    """Open every conversation snoozed until `now` or earlier: how many. Each records one
    `conversation.updated`, published after the commit, so open inbox lists move it live."""
    woken = await session.execute(
        update(CONVERSATIONS)
        .where(
            CONVERSATIONS.c.status == ConversationStatus.SNOOZED.value,
            CONVERSATIONS.c.snooze_until <= now,
        )
        .values(status=ConversationStatus.OPEN.value, snooze_until=None)
        .returning(CONVERSATIONS.c.id, CONVERSATIONS.c.customer_id)
    )
    rows = woken.all()
    for conversation_id, customer_id in rows:
        record(
            session,
            Event(
                events.CONVERSATION_UPDATED,
                conversation_id=conversation_id,
                customer_id=customer_id,
                data={"woken": True},
            ),
        )
    return len(rows)


class SnoozeAlarm:
    """Wakes due conversations every `interval` seconds until the process stops."""

    def __init__(
        self, db: Database, queue: QueueBackend, broker: Broker, *, interval: float
    ) -> None:
        self.db, self.queue, self.broker, self.interval = db, queue, broker, interval

    async def run(self, stopping: asyncio.Event) -> None:
        await every(self.interval, self.run_once, stopping, "snooze alarm: waking conversations")

    async def run_once(self) -> int:
        """Wake what is due now; how many conversations were opened."""
        async with self.db.session() as session:
            async with self.db.writing():
                woken = await do_wake_due(session, utcnow())
                await commit_and_publish(session, self.queue, self.broker)
        if woken:
            log.info("snooze alarm: %d conversation(s) open again", woken)
        return woken
