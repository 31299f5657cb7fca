"""What happened to an outbound message: sent, delivered, read or failed, never backwards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.channel_state import find_message, mail_thread
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import OutboundMessage
from hub.domain.types import STATUS_RANK, Channel, Direction, MessageStatus
from hub.models import Message
from hub.models.base import utcnow
from hub.models.tables import IDENTITIES, MESSAGES
from hub.queue.outbound import OutboundJob

# What an operator reads on a reply to a customer who texted STOP.
OPTED_OUT_ERROR = "the customer opted out of SMS (texted STOP); they must text START first"


async def load_sends(session: AsyncSession, jobs: list[OutboundJob]) -> dict[int, OutboundMessage]:
    """The sends of a whole batch of queued replies, by message id, in two Core statements
    (messages, then SMS opt-outs) instead of an ORM load per reply; a reply with nothing
    left to send is absent. Mail threads are read per mail reply (rare, and never hot)."""
    wanted = {job.message_id: job for job in jobs}
    if not wanted:
        return {}
    rows = (
        await session.execute(
            select(
                MESSAGES.c.id,
                MESSAGES.c.conversation_id,
                MESSAGES.c.customer_id,
                MESSAGES.c.channel,
                MESSAGES.c.address,
                MESSAGES.c.text,
                MESSAGES.c.content_sid,
            ).where(
                MESSAGES.c.id.in_(list(wanted)),
                MESSAGES.c.status == MessageStatus.QUEUED.value,
                MESSAGES.c.address.is_not(None),
            )
        )
    ).all()
    sms = {row.address for row in rows if row.channel == Channel.SMS.value}
    opted_out: set[str] = set()
    if sms:
        opted_out = set(
            await session.scalars(
                select(IDENTITIES.c.address).where(
                    IDENTITIES.c.channel == Channel.SMS.value,
                    IDENTITIES.c.address.in_(sms),
                    IDENTITIES.c.opted_out.is_(True),
                )
            )
        )
    sends: dict[int, OutboundMessage] = {}
    for row in rows:
        channel = Channel(row.channel)
        sends[row.id] = OutboundMessage(
            message_id=row.id,
            conversation_id=row.conversation_id,
            channel=channel,
            address=row.address,
            text=row.text,
            content_sid=row.content_sid or None,
            thread=await mail_thread(session, row.customer_id)
            if channel is Channel.EMAIL
            else None,
            # The customer refuses it: the reply ends failed, visibly, and is never sent.
            opted_out=channel is Channel.SMS and row.address in opted_out,
            progress=wanted[row.id].progress,
        )
    return sends


@dataclass(frozen=True, slots=True)
class Outcome:
    """A send's result to record: the status it reached and the provider's id."""

    message_id: int
    status: MessageStatus
    external_id: str | None = None


_SET_STATUS = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), external_id=bindparam("b_external_id"))
)


def _by_id(session: AsyncSession, values: dict[int, str | None]) -> ColumnElement[Any]:
    """Each row's value by its id, in one bound parameter: a literal when the rows agree,
    else a JSON object read by id (a `CASE` with a bound pair per row cost more to build
    than the statement cost to run, and compiled anew for every batch size)."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return literal(distinct.pop(), type_=String())
    by_id = literal(json.dumps({str(i): v for i, v in values.items()}), type_=String())
    key = cast(MESSAGES.c.id, String)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return cast(by_id, JSONB)[key].astext
    return func.json_extract(by_id, literal('$."', String()) + key + literal('"', String()))


async def record_outcomes(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """What do_set_delivery_status does, for a batch of sends: a status only moves forward
    (a callback may have been faster) and the provider's id is kept the first time it is
    known; each message that moved is published.

    The usual case, a reply still `queued`, is one `UPDATE ... WHERE status = 'queued'
    RETURNING` for the whole batch (status and id looked up by message id); only the
    replies a callback or an earlier try already moved take the read-then-update path."""
    if not outcomes:
        return
    wanted = {outcome.message_id: outcome for outcome in outcomes}
    external_ids = {i: o.external_id for i, o in wanted.items()}
    values: dict[str, Any] = {
        "status": _by_id(session, {i: o.status.value for i, o in wanted.items()}),
    }
    if any(external_ids.values()):
        values["external_id"] = func.coalesce(MESSAGES.c.external_id, _by_id(session, external_ids))
    moved = await session.execute(
        update(MESSAGES)
        .where(
            MESSAGES.c.id.in_(list(wanted)),
            MESSAGES.c.status == MessageStatus.QUEUED.value,
        )
        .values(values)
        .returning(MESSAGES.c.id, MESSAGES.c.conversation_id, MESSAGES.c.customer_id)
    )
    for row in moved:
        status = wanted.pop(row.id).status
        _published(session, row.id, row.conversation_id, row.customer_id, status)
    if wanted:
        await _record_moved_on(session, list(wanted.values()))


def _published(
    session: AsyncSession,
    message_id: int,
    conversation_id: int | None,
    customer_id: int | None,
    status: MessageStatus,
) -> None:
    record(
        session,
        Event(
            events.MESSAGE_UPDATED,
            conversation_id=conversation_id,
            customer_id=customer_id,
            data={"message_id": message_id, "status": status},
        ),
    )


async def _record_moved_on(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Outcomes of replies no longer `queued`: read each one's status and id, then one
    executemany for those that move forward or learn their provider id."""
    current = {
        row.id: row
        for row in await session.execute(
            select(
                MESSAGES.c.id,
                MESSAGES.c.status,
                MESSAGES.c.external_id,
                MESSAGES.c.conversation_id,
                MESSAGES.c.customer_id,
            ).where(MESSAGES.c.id.in_([o.message_id for o in outcomes]))
        )
    }
    changes = []
    for outcome in outcomes:
        row = current.get(outcome.message_id)
        if row is None:
            continue
        external_id = row.external_id if row.external_id is not None else outcome.external_id
        moved = STATUS_RANK[MessageStatus(row.status)] < STATUS_RANK[outcome.status]
        status = outcome.status if moved else MessageStatus(row.status)
        if not moved and external_id == row.external_id:
            continue
        changes.append({"b_id": row.id, "b_status": status.value, "b_external_id": external_id})
        if moved:
            _published(session, row.id, row.conversation_id, row.customer_id, status)
    if changes:
        await session.execute(_SET_STATUS, changes)


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


async def do_set_delivery_status(
    session: AsyncSession,
    message_id: int,
    status: MessageStatus,
    *,
    external_id: str | None = None,
    error: str | None = None,
) -> Message | None:
    """Move an outbound message's delivery status forward (sent, delivered, read, failed);
    the provider's id is kept the first time it is known."""
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
    return await do_set_delivery_status(session, message.id, status, error=error)


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
