"""The waiting alert: an email to the assigned operator when a customer has waited longer
than `HUB_WAITING_ALERT_MINUTES` without a person's reply, once per wait.

A wait starts when a customer message needs a person (hub.actions.routing sets
`waiting_since`) and ends with an operator's reply (hub.actions.replies clears it). The
alert is claimed with a conditional UPDATE before it is sent, so two workers never send it
twice; a relay failure is logged and not retried (the thread shows the alert was due).
Sent through the email channel's own sender (the SMTP relay of `HUB_SMTP_URL`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub import metrics
from hub.actions.system_notes import do_add_system_note
from hub.actions.texts import render
from hub.actions.unit import commit_and_publish
from hub.chores.periodic import every
from hub.db import Database
from hub.domain.messages import MailThread, OutboundMessage
from hub.domain.notes import Note
from hub.domain.ports import SendingAdapter
from hub.domain.types import Channel, ConversationStatus
from hub.errors import ProviderError
from hub.models import Conversation, Customer, Operator
from hub.models.base import utcnow
from hub.queue.port import QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)
BATCH = 50


@dataclass(frozen=True, slots=True)
class Alert:
    conversation_id: int
    operator_email: str
    operator_locale: str
    customer: str
    waited_minutes: int


async def claim_alerts(session: AsyncSession, now: datetime, after: timedelta) -> list[Alert]:
    """Mark every wait past `after` as alerted (once per wait) and say whom to tell;
    the caller commits."""
    due = (
        await session.execute(
            select(Conversation, Operator, Customer)
            .join(Operator, col(Operator.id) == col(Conversation.assignee_id))
            .join(Customer, col(Customer.id) == col(Conversation.customer_id))
            .where(
                col(Conversation.status) == ConversationStatus.OPEN.value,
                col(Conversation.waiting_since) <= now - after,
                or_(
                    col(Conversation.waiting_alerted_at).is_(None),
                    col(Conversation.waiting_alerted_at) < col(Conversation.waiting_since),
                ),
                col(Operator.disabled_at).is_(None),
            )
            .order_by(col(Conversation.waiting_since))
            .limit(BATCH)
        )
    ).all()
    alerts = []
    for conversation, operator, customer in due:
        since = conversation.waiting_since
        assert since is not None
        claimed = await session.execute(
            update(Conversation)
            .where(
                col(Conversation.id) == conversation.id,
                col(Conversation.waiting_since) == since,
                or_(
                    col(Conversation.waiting_alerted_at).is_(None),
                    col(Conversation.waiting_alerted_at) < since,
                ),
            )
            .values(waiting_alerted_at=now)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            continue
        waited = int((now - since).total_seconds() // 60)
        name = customer.name or f"#{customer.id}"
        await do_add_system_note(
            session,
            conversation,
            Note("waiting.alert_emailed", {"name": operator.name, "minutes": waited}),
        )
        alerts.append(Alert(conversation.id or 0, operator.email, operator.locale, name, waited))
    return alerts


class WaitingAlert:
    """Every `HUB_WAITING_CHECK_SECONDS`: claim due alerts, commit, then email them."""

    def __init__(
        self,
        db: Database,
        queue: QueueBackend,
        broker: Broker,
        mail: SendingAdapter,
        *,
        after_minutes: float,
        interval: float,
        base_url: str,
    ) -> None:
        self.db, self.queue, self.broker, self.mail = db, queue, broker, mail
        self.after = timedelta(minutes=after_minutes)
        self.interval, self.base_url = interval, base_url

    async def run(self, stopping: asyncio.Event) -> None:
        await every(self.interval, self.run_once, stopping, "waiting alert")

    async def run_once(self) -> int:
        """How many alerts were emailed."""
        async with self.db.session() as session:
            async with self.db.writing():
                alerts = await claim_alerts(session, utcnow(), self.after)
                await commit_and_publish(session, self.queue, self.broker)
        sent = 0
        for alert in alerts:
            sent += await self._send(alert)
        if sent:
            metrics.routing_actions.labels("waiting_alert").inc(sent)
        return sent

    async def _send(self, alert: Alert) -> int:
        locale = alert.operator_locale if alert.operator_locale in ("en", "ru") else "en"
        link = f"{self.base_url.rstrip('/')}/inbox/conversations/{alert.conversation_id}"
        values = {"customer": alert.customer, "minutes": alert.waited_minutes, "link": link}
        text = render(locale, "waiting_alert", values)
        subject = render(locale, "waiting_alert_subject", values)
        try:
            await self.mail.send(
                OutboundMessage(
                    message_id=0,
                    conversation_id=alert.conversation_id,
                    channel=Channel.EMAIL,
                    address=alert.operator_email,
                    text=text,
                    thread=MailThread(subject=subject),
                )
            )
        except ProviderError as exc:
            log.warning(
                "waiting alert for conversation %s not sent: %s", alert.conversation_id, exc
            )
            return 0
        log.info("waiting alert for conversation %s emailed", alert.conversation_id)
        return 1
