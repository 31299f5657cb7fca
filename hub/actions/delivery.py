"""What happened to an outbound message: sent, delivered, read or failed, never backwards."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.channel_state import find_message, mail_thread, sms_opted_out
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import OutboundMessage
from hub.domain.types import STATUS_RANK, Channel, Direction, MessageStatus
from hub.models import Message
from hub.models.base import utcnow


async def load_outbound(
    session: AsyncSession, message_id: int, progress: str | None = None
) -> OutboundMessage | None:
    """The send to make for a queued reply, or None when there is nothing left to send;
    `progress` is an earlier attempt's (ProviderError.progress), passed on untouched."""
    message = await session.get(Message, message_id)
    if message is None or message.status != MessageStatus.QUEUED or message.address is None:
        return None
    channel = Channel(message.channel)
    extra: dict[str, object] = {}
    if channel is Channel.SMS and await sms_opted_out(session, message.address):
        extra["opted_out"] = True  # the sender refuses it: the reply ends failed, visibly
    if message.content_sid:
        extra["content_sid"] = message.content_sid
    if channel is Channel.EMAIL:
        extra.update(await mail_thread(session, message.customer_id))
    return OutboundMessage(
        message_id=message_id,
        conversation_id=message.conversation_id,
        channel=channel,
        address=message.address,
        text=message.text,
        extra=extra,
        progress=progress if isinstance(progress, str) else None,
    )


def _updated(session: AsyncSession, message: Message) -> None:
    session.add(message)
    record(
        session,
        Event(
            events.MESSAGE_UPDATED,
            conversation_id=message.conversation_id,
            customer_id=message.customer_id,
            data={"message_id": message.id, "status": message.status},
        ),
    )


async def do_set_status(
    session: AsyncSession,
    message_id: int,
    status: MessageStatus,
    *,
    external_id: str | None = None,
    error: str | None = None,
) -> Message | None:
    message = await session.get(Message, message_id)
    if message is None:
        return None
    if external_id is not None and message.external_id is None:
        message.external_id = external_id  # also when a callback already moved it further
        session.add(message)
    if STATUS_RANK[MessageStatus(message.status)] >= STATUS_RANK[status]:
        return message  # callbacks arrive out of order; never move backwards
    message.status = status
    if error is not None:
        message.error = error[:2000]
    _updated(session, message)
    return message


async def do_record_status(
    session: AsyncSession,
    channels: list[str],
    external_id: str,
    status: MessageStatus,
    error: str | None = None,
    *,
    message_id: int | None = None,
) -> Message | None:
    """A provider's status callback for the outbound message it knows by `external_id`, or
    by the hub's own id when the callback URL carried it (the callback can arrive before
    the send's answer, with its id, is stored)."""
    if message_id is not None:
        message = await session.get(Message, message_id)
        if message is not None and message.external_id not in (None, external_id):
            message = None  # another part of a split text: its first part speaks for it
    else:
        message = await find_message(session, channels, external_id, Direction.OUTBOUND)
    if (
        message is None
        or message.direction != Direction.OUTBOUND
        or message.channel not in channels
        or message.id is None
    ):
        return None
    return await do_set_status(session, message.id, status, error=error)


async def stranded_outbound(session: AsyncSession, older_than: float) -> list[Message]:
    """Replies still queued long after they were stored: their job may have been lost."""
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.direction) == Direction.OUTBOUND,
            col(Message.status) == MessageStatus.QUEUED,
            col(Message.created_at) < utcnow() - timedelta(seconds=older_than),
        )
        .limit(500)
    )
    return list(rows)
