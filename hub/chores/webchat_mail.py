"""Web chat replies an offline visitor never saw, emailed once to a proven address of their
customer after `HUB_WEBCHAT_EMAIL_AFTER_MINUTES` (SPEC §4 and §6; the rules live in
hub.actions.webchat_mail). The email is an ordinary outbound message on the mail channel:
the outbound queue sends it, with its retries, dead letters and delivery status.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from hub.actions.unit import commit_and_publish, discard
from hub.actions.webchat_mail import do_email_unseen
from hub.chores.periodic import every
from hub.db import Database
from hub.models.base import utcnow
from hub.queue.port import QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)


class WebchatMail:
    """Every `interval` seconds: queue the emails of the replies now due."""

    def __init__(
        self,
        db: Database,
        queue: QueueBackend,
        broker: Broker,
        *,
        after_minutes: float,
        interval: float,
    ) -> None:
        self.db, self.queue, self.broker = db, queue, broker
        self.after = timedelta(minutes=after_minutes)
        self.interval = interval

    async def run(self, stopping: asyncio.Event) -> None:
        await every(self.interval, self.run_once, stopping, "web chat mail")

    async def run_once(self) -> int:
        """How many emails were queued."""
        async with self.db.session() as session:
            try:
                async with self.db.writing():
                    emailed = await do_email_unseen(session, utcnow(), self.after)
                    if not emailed:  # nothing due, or another worker's turn: nothing to keep
                        await session.commit()
                        return 0
                    await commit_and_publish(session, self.queue, self.broker)
            except BaseException:
                discard(session)
                raise
        for sent in emailed:
            log.info(
                "%s unseen web chat replies of conversation %s emailed",
                sent.replies,
                sent.conversation_id,
            )
        return len(emailed)
