"""The `data` of outgoing webhooks: the REST API's objects (SPEC §5) as they are at the
moment of the change, read inside its transaction.

The API's pydantic answer models live in the web layer, which the core may not import;
these plain dicts carry the same fields in the same JSON form (tests/web/test_webhooks.py
holds each one equal to the API's answer for the same object). A batch of events is read
in a handful of set-based queries, whatever its size.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    Customer,
    MessageNoteKind,
    Order,
    OrderStatusChange,
)
from hub.models.tables import CONVERSATIONS, CUSTOMERS, MESSAGES, core_table
from hub.queries.conversations import ConversationDetails
from hub.queries.customers import customer_cards, order_history

Json = dict[str, Any]
LABELS = core_table(ConversationLabel)


def iso(moment: datetime | None) -> str | None:
    """As the API writes a time (pydantic's JSON form): UTC with a `Z`. The columns hand
    back UTC already; converting only what is not is a visible saving per payload."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ConversationRow(Protocol):
    """A conversation as the ORM or a Core row holds it."""

    @property
    def id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def customer_id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def bot_active(self) -> bool: ...
    @property
    def merged_into_id(self) -> int | None: ...
    @property
    def team_id(self) -> int | None: ...
    @property
    def priority(self) -> str: ...
    @property
    def last_message_at(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...


def conversation_json(row: ConversationRow, name: str | None, labels: list[str]) -> Json:
    return {
        "id": row.id,
        "status": row.status,
        "customer": {"id": row.customer_id, "name": name},
        "channel": row.channel,
        "assignee_id": row.assignee_id,
        "labels": labels,
        "bot_active": row.bot_active,
        "merged_into": row.merged_into_id,
        "team_id": row.team_id,
        "priority": row.priority,
        "last_message_at": iso(row.last_message_at),
        "created_at": iso(row.created_at),
    }


def _card_conversation(row: Conversation, details: ConversationDetails) -> Json:
    customer = details.customers.get(row.customer_id)
    name = customer.name if customer else None
    return conversation_json(row, name, details.labels.get(row.id or 0, []))


def _attachment_json(row: Attachment) -> Json:
    return {
        "id": row.id,
        "kind": row.kind,
        "content_type": row.content_type,
        "filename": row.filename,
        "size": row.size,
        "status": row.status,
        "error": row.error,
    }


def message_json(row: Row[Any], note_kind: str | None, files: list[Attachment]) -> Json:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "direction": row.direction,
        "sender_type": row.sender_type,
        "channel": row.channel,
        "text": row.text,
        "private": row.private,
        "status": row.status,
        "error": row.error,
        "external_id": row.external_id,
        "created_at": iso(row.created_at),
        "note_kind": note_kind,
        "attachments": [_attachment_json(f) for f in files],
    }


def order_json(row: Order, history: list[OrderStatusChange]) -> Json:
    return {
        "number": row.number,
        "status": row.status,
        "items": list(row.items or []),
        "total": row.total,
        "currency": row.currency,
        "tracking_url": row.tracking_url,
        "pickup_point": row.pickup_point,
        "customer_id": row.customer_id,
        "history": [{"status": h.status, "at": iso(h.at)} for h in history],
        "updated_at": iso(row.updated_at),
    }


_CONVERSATION_COLUMNS = [
    CONVERSATIONS.c[name]
    for name in (
        "id",
        "status",
        "customer_id",
        "channel",
        "assignee_id",
        "bot_active",
        "merged_into_id",
        "team_id",
        "priority",
        "last_message_at",
        "created_at",
    )
]
_MESSAGE_COLUMNS = [
    MESSAGES.c[name]
    for name in (
        "id",
        "conversation_id",
        "direction",
        "sender_type",
        "channel",
        "text",
        "private",
        "status",
        "error",
        "external_id",
        "created_at",
    )
]


async def conversations(session: AsyncSession, ids: Iterable[int]) -> dict[int, Json]:
    """Read in Core, as committed-to-be (the caller flushed): the router changes them in
    Core too, and ORM objects would cost more than the rows on this hot path."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = list(
        await session.execute(select(*_CONVERSATION_COLUMNS).where(CONVERSATIONS.c.id.in_(wanted)))
    )
    names = dict(
        (
            await session.execute(
                select(CUSTOMERS.c.id, CUSTOMERS.c.name).where(
                    CUSTOMERS.c.id.in_({row.customer_id for row in rows})
                )
            )
        ).all()
    )
    labels: dict[int, list[str]] = {}
    for conversation_id, label in await session.execute(
        select(LABELS.c.conversation_id, LABELS.c.label)
        .where(LABELS.c.conversation_id.in_(wanted))
        .order_by(LABELS.c.label)
    ):
        labels.setdefault(conversation_id, []).append(label)
    return {
        row.id: conversation_json(row, names.get(row.customer_id), labels.get(row.id, []))
        for row in rows
    }


async def messages(session: AsyncSession, ids: Iterable[int]) -> dict[int, Json]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = list(await session.execute(select(*_MESSAGE_COLUMNS).where(MESSAGES.c.id.in_(wanted))))
    kinds = dict(
        (
            await session.execute(
                select(col(MessageNoteKind.message_id), col(MessageNoteKind.kind)).where(
                    col(MessageNoteKind.message_id).in_(wanted)
                )
            )
        ).all()
    )
    files: dict[int, list[Attachment]] = {}
    for attachment in await session.scalars(
        select(Attachment)
        .where(col(Attachment.message_id).in_(wanted))
        .order_by(col(Attachment.id))
    ):
        files.setdefault(attachment.message_id, []).append(attachment)
    return {row.id: message_json(row, kinds.get(row.id), files.get(row.id, [])) for row in rows}


async def customers(session: AsyncSession, ids: Iterable[int]) -> dict[int, Json]:
    """The SPEC §5 customer: identities, orders and conversations (not the operators'
    own suggestions and timeline)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = list(
        await session.scalars(
            select(Customer)
            .where(col(Customer.id).in_(wanted))
            .execution_options(populate_existing=True)
        )
    )
    found: dict[int, Json] = {}
    for card in await customer_cards(session, rows):
        row = card.customer
        found[row.id or 0] = {
            "id": row.id,
            "name": row.name,
            "locale": row.locale,
            "preferred_channel": card.preferred_channel,
            "identities": [
                {
                    "id": i.id,
                    "channel": i.channel,
                    "address": i.address,
                    "verified": i.verified,
                    "confirmed_by_id": i.confirmed_by_id,
                    "confirmed_at": iso(i.confirmed_at),
                    "opted_out": i.opted_out,
                }
                for i in card.identities
            ],
            "orders": [order_json(o, card.history.get(o.id or 0, [])) for o in card.orders],
            "conversations": [_card_conversation(c, card.details) for c in card.conversations],
        }
    return found


async def orders(session: AsyncSession, ids: Iterable[int]) -> dict[int, Json]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = list(
        await session.scalars(
            select(Order).where(col(Order.id).in_(wanted)).execution_options(populate_existing=True)
        )
    )
    history = await order_history(session, [o.id for o in rows if o.id is not None])
    return {o.id: order_json(o, history.get(o.id, [])) for o in rows if o.id is not None}
