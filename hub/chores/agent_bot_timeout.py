"""The external bot's timeout: a customer who waited HUB_AGENT_BOT_TIMEOUT for the bot's
answer gets a person instead (hub.actions.agent_bot `do_hand_off_overdue`).

Checked a few times per timeout (at most every 5 s), so a handoff comes at most a quarter
of the timeout late; each overdue wait is taken by one DELETE ... RETURNING, so with several
workers a conversation is handed off, and its note written, once.
"""

from __future__ import annotations

import asyncio
import logging

from hub.actions.agent_bot import do_hand_off_overdue
from hub.actions.unit import commit_and_publish
from hub.chores.periodic import every
from hub.db import Database
from hub.models.base import utcnow
from hub.queue.port import QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)

MAX_CHECK_SECONDS = 5.0
MIN_CHECK_SECONDS = 0.1


def check_interval(timeout: float) -> float:
    return max(MIN_CHECK_SECONDS, min(MAX_CHECK_SECONDS, timeout / 4))


class AgentBotTimeout:
    """Hands off conversations the external bot left unanswered too long."""

    def __init__(self, db: Database, queue: QueueBackend, broker: Broker, *, timeout: float):
        self.db, self.queue, self.broker, self.timeout = db, queue, broker, timeout

    async def run(self, stopping: asyncio.Event) -> None:
        await every(
            check_interval(self.timeout), self.run_once, stopping, "agent bot timeout: handoffs"
        )

    async def run_once(self) -> list[int]:
        """Hand off what is overdue now; the conversation ids handed off."""
        async with self.db.session() as session:
            async with self.db.writing():
                handed = await do_hand_off_overdue(session, utcnow(), self.timeout)
                await commit_and_publish(session, self.queue, self.broker)
        if handed:
            log.info("agent bot timeout: %d conversation(s) handed to a person", len(handed))
        return handed
