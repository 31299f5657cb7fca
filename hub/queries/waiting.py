"""What list rows and threads show beside the conversation itself: who has it, how long
its customer has waited for an answer, the subjects of its mails."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from hub.domain.types import ConversationStatus, Direction, SenderType
from hub.models import Conversation, Message, MessageSource, Operator

# An answer ends the wait: an operator's or a bot's reply the customer could see. The hub's
# own notices (order status, system texts) and private notes do not answer anyone.
ANSWERING = (SenderType.OPERATOR.value, SenderType.BOT.value)


async def waiting_since(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> dict[int, datetime]:
    """Per unresolved conversation whose customer waits: the time of the customer's first
    message after the last answer (absent when answered or never written)."""
    ids = [
        c.id
        for c in conversations
        if c.id is not None and c.status != ConversationStatus.RESOLVED.value
    ]
    if not ids:
        return {}
    answer = aliased(Message)
    last_answer = (
        select(func.coalesce(func.max(col(answer.id)), 0))
        .where(
            col(answer.conversation_id) == col(Message.conversation_id),
            col(answer.direction) == Direction.OUTBOUND.value,
            col(answer.private).is_(False),
            col(answer.sender_type).in_(ANSWERING),
        )
        .scalar_subquery()
    )
    rows = await session.execute(
        select(col(Message.conversation_id), func.min(col(Message.created_at)))
        .where(
            and_(
                col(Message.conversation_id).in_(ids),
                col(Message.direction) == Direction.INBOUND.value,
                col(Message.id) > last_answer,
            )
        )
        .group_by(col(Message.conversation_id))
    )
    return {conversation_id: since for conversation_id, since in rows if since is not None}


async def assignee_names(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> dict[int, str]:
    """Operator id → name, for the assignees of these conversations."""
    ids = {c.assignee_id for c in conversations if c.assignee_id is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(col(Operator.id), col(Operator.name)).where(col(Operator.id).in_(ids))
    )
    return {operator_id: name for operator_id, name in rows if operator_id is not None}


def waited(since: datetime, now: datetime) -> tuple[int, str]:
    """A wait as a count and its unit (`min`, `h`, `d`), the way a row says it."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return minutes, "min"
    if minutes < 48 * 60:
        return minutes // 60, "h"
    return minutes // (24 * 60), "d"


async def mail_subjects(session: AsyncSession, message_ids: Sequence[int | None]) -> dict[int, str]:
    """Message id → the Subject of the mail it came in (mails without one are left out)."""
    ids = [i for i in message_ids if i is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(col(MessageSource.message_id), col(MessageSource.subject)).where(
            col(MessageSource.message_id).in_(ids)
        )
    )
    return {
        message_id: subject.strip() for message_id, subject in rows if subject and subject.strip()
    }


async def worth_reading(
    session: AsyncSession,
    conversations: Sequence[Conversation],
    markers: dict[int, datetime],
    operator_id: int,
) -> set[int]:
    """The conversations with something new for this operator since they last read them:
    a customer's message or another operator's reply. The hub's own messages (bot answers,
    order notices, system texts) and the operator's own replies never make one unread."""
    ids = [
        c.id
        for c in conversations
        if c.id is not None and (c.id not in markers or c.last_message_at > markers[c.id])
    ]
    if not ids:
        return set()
    from_people = or_(
        col(Message.direction) == Direction.INBOUND.value,
        and_(
            col(Message.sender_type) == SenderType.OPERATOR.value,
            col(Message.private).is_(False),
            or_(col(Message.operator_id).is_(None), col(Message.operator_id) != operator_id),
        ),
    )
    rows = await session.execute(
        select(col(Message.conversation_id), func.max(col(Message.created_at)))
        .where(col(Message.conversation_id).in_(ids), from_people)
        .group_by(col(Message.conversation_id))
    )
    return {
        conversation_id
        for conversation_id, newest in rows
        if newest is not None
        and (conversation_id not in markers or newest > markers[conversation_id])
    }
