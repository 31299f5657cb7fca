"""The out-of-hours reply (issue 16): a customer who writes to a team that is closed is told,
in their language and on their own channel, when it is back; once per closed period."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub import metrics
from hub.actions.replies import do_reply
from hub.actions.texts import pick_locale, render
from hub.domain.hours import closed_since, next_open, parse_hours, zone
from hub.domain.types import Direction, SenderType
from hub.errors import HubError
from hub.models import (
    Conversation,
    Customer,
    Message,
    Team,
)

log = logging.getLogger(__name__)


async def out_of_hours_reply(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> bool:
    """Tell the customer, in their language and on their own channel, that the team is
    closed and when it opens: once per conversation per closed period."""
    if conversation.team_id is None:
        return False
    team = await session.get(Team, conversation.team_id)
    if team is None or not team.hours:
        return False
    hours, tz = parse_hours(team.hours), zone(team.timezone)
    since = closed_since(hours, tz, now)
    if since is None or (conversation.out_of_hours_at and conversation.out_of_hours_at >= since):
        return False
    conversation.out_of_hours_at = now
    session.add(conversation)
    customer = await session.get(Customer, conversation.customer_id)
    last = await session.scalar(
        select(col(Message.text))
        .where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == Direction.INBOUND.value,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    locale = pick_locale(customer.locale if customer else None, last)
    opens = next_open(hours, tz, now)
    text = render(
        locale,
        "out_of_hours",
        {
            "team": team.name,
            "opens": opens.astimezone(tz).strftime("%Y-%m-%d %H:%M") if opens else None,
            "timezone": team.timezone,
        },
    )
    try:
        await do_reply(session, conversation, text, sender_type=SenderType.SYSTEM)
    except HubError as exc:  # no address on that channel, WhatsApp window closed
        log.warning("out-of-hours reply to conversation %s not sent: %s", conversation.id, exc)
        return False
    metrics.routing_actions.labels("out_of_hours_reply").inc()
    return True
