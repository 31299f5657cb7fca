"""Read-only look-ups for the REST API and the inbox: lists with filters and keyset pages.

Pages are keyset pages (`after` is the last row of the previous page), never OFFSET:
a page stays cheap however deep it is, and rows arriving meanwhile do not shift it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from hub.actions.conversations import labels_of
from hub.actions.orders import order_history
from hub.domain.types import REACHABILITY_ORDER
from hub.models import (
    Conversation,
    ConversationLabel,
    Customer,
    Identity,
    Message,
    Order,
    OrderStatusChange,
)

UNASSIGNED = "none"
MAX_SEARCH_WORDS = 10


@dataclass(frozen=True)
class ConversationFilter:
    """Each field narrows the list; all None lists every conversation."""

    status: str | None = None
    channel: str | None = None
    # An operator id, or UNASSIGNED for conversations nobody has taken.
    assignee: int | str | None = None
    label: str | None = None
    q: str | None = None


@dataclass
class ConversationDetails:
    """What a conversation's summary shows beside its own row: customer and labels."""

    customers: dict[int, Customer] = field(default_factory=dict)
    labels: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class CustomerCard:
    """A customer with everything the card beside a thread shows."""

    customer: Customer
    identities: list[Identity]
    orders: list[Order]
    history: dict[int, list[OrderStatusChange]]
    conversations: list[Conversation]
    details: ConversationDetails
    preferred_channel: str | None


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conversation_filters(
    query: Select[Conversation], where: ConversationFilter, dialect: str
) -> Select[Conversation]:
    if where.status is not None:
        query = query.where(col(Conversation.status) == where.status)
    if where.channel is not None:
        query = query.where(col(Conversation.channel) == where.channel)
    if where.assignee == UNASSIGNED:
        query = query.where(col(Conversation.assignee_id).is_(None))
    elif isinstance(where.assignee, int):
        query = query.where(col(Conversation.assignee_id) == where.assignee)
    if where.label is not None:
        labelled = select(col(ConversationLabel.conversation_id)).where(
            col(ConversationLabel.label) == where.label
        )
        query = query.where(col(Conversation.id).in_(labelled))
    if where.q:
        # Message texts by full-text search (word prefixes), customers by name or address.
        pattern = like_pattern(where.q)
        in_text = select(col(Message.conversation_id)).where(text_matches(where.q, dialect))
        by_name = select(col(Customer.id)).where(col(Customer.name).ilike(pattern, escape="\\"))
        by_address = select(col(Identity.customer_id)).where(
            col(Identity.address).ilike(pattern, escape="\\")
        )
        query = query.where(
            or_(
                col(Conversation.id).in_(in_text),
                col(Conversation.customer_id).in_(by_name),
                col(Conversation.customer_id).in_(by_address),
            )
        )
    return query


_FTS = table("messages_fts", column("rowid"), column("messages_fts"))


def text_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Messages whose text has every word of `q` (as a word prefix), case-insensitively.

    SQLite: the FTS5 table of migration 0002; PostgreSQL: its GIN tsvector index (the
    expression must stay `to_tsvector('simple', text)` for the index to be used).
    Words are `\\w+` runs, so no query syntax of either engine reaches it from a user.
    """
    words = [w.lower() for w in re.findall(r"\w+", q)][:MAX_SEARCH_WORDS]
    if not words:
        return false()
    if dialect == "sqlite":
        match = " ".join(f'"{w}"*' for w in words)
        hits = select(_FTS.c.rowid).where(_FTS.c.messages_fts.op("MATCH")(match))
        return col(Message.id).in_(hits)
    tsquery = " & ".join(f"{w}:*" for w in words)
    simple: ColumnElement[str] = literal_column("'simple'")
    return func.to_tsvector(simple, col(Message.text)).op("@@")(func.to_tsquery(simple, tsquery))


T = TypeVar("T")


def newest_first(
    query: Select[T],
    at: Mapped[datetime],
    row_id: Mapped[int | None],
    after: tuple[datetime, int] | None,
    limit: int,
) -> Select[T]:
    """Keyset page, newest activity first (`at desc, id desc`), after the cursor's key."""
    if after is not None:
        last_at, last_id = after
        query = query.where(or_(at < last_at, and_(at == last_at, row_id < last_id)))
    return query.order_by(at.desc(), row_id.desc()).limit(limit)


async def list_conversations(
    session: AsyncSession,
    where: ConversationFilter,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Conversation]:
    """Newest activity first (`last_message_at desc, id desc`), after the given key."""
    dialect = session.get_bind().dialect.name
    query = _conversation_filters(select(Conversation), where, dialect)
    query = newest_first(
        query, col(Conversation.last_message_at), col(Conversation.id), after, limit
    )
    return list((await session.scalars(query)).all())


async def conversation_details(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> ConversationDetails:
    """Customers and labels of many conversations in two queries."""
    customer_ids = {c.customer_id for c in conversations}
    customers: dict[int, Customer] = {}
    if customer_ids:
        rows = await session.scalars(select(Customer).where(col(Customer.id).in_(customer_ids)))
        customers = {c.id: c for c in rows if c.id is not None}
    labels = await labels_of(session, [c.id for c in conversations if c.id is not None])
    return ConversationDetails(customers, labels)


async def list_messages(
    session: AsyncSession, conversation_id: int, *, after_id: int | None, limit: int
) -> list[Message]:
    """Oldest first, in the order the router stored them; `after_id` pages to newer ones."""
    query = select(Message).where(col(Message.conversation_id) == conversation_id)
    if after_id is not None:
        query = query.where(col(Message.id) > after_id)
    query = query.order_by(col(Message.id)).limit(limit)
    return list((await session.scalars(query)).all())


async def list_customers(
    session: AsyncSession, q: str | None, *, after: tuple[datetime, int] | None, limit: int
) -> list[Customer]:
    """Customers not merged away, newest activity first; `q` matches a name or an address."""
    query = select(Customer).where(col(Customer.merged_into_id).is_(None))
    if q:
        pattern = like_pattern(q)
        by_address = select(col(Identity.customer_id)).where(
            col(Identity.address).ilike(pattern, escape="\\")
        )
        query = query.where(
            or_(
                col(Customer.name).ilike(pattern, escape="\\"),
                col(Customer.id).in_(by_address),
            )
        )
    query = newest_first(query, col(Customer.last_activity_at), col(Customer.id), after, limit)
    return list((await session.scalars(query)).all())


def preferred_channel(customer: Customer, channels: Iterable[str]) -> str | None:
    """Set by an operator or the API, else the latest inbound channel, else the first
    reachable of WhatsApp, Telegram, SMS, email among the customer's identities (SPEC §5)."""
    if customer.preferred_channel:
        return customer.preferred_channel
    if customer.last_inbound_channel:
        return customer.last_inbound_channel
    have = set(channels)
    return next((c.value for c in REACHABILITY_ORDER if c.value in have), None)


async def customer_cards(
    session: AsyncSession, customers: Sequence[Customer]
) -> list[CustomerCard]:
    """Cards for many customers in a handful of queries (a list page shows whole cards)."""
    ids = [c.id for c in customers if c.id is not None]
    if not ids:
        return []
    identities = await session.scalars(
        select(Identity).where(col(Identity.customer_id).in_(ids)).order_by(col(Identity.id))
    )
    orders = list(
        (
            await session.scalars(
                select(Order).where(col(Order.customer_id).in_(ids)).order_by(col(Order.id).desc())
            )
        ).all()
    )
    conversations = list(
        (
            await session.scalars(
                select(Conversation)
                .where(col(Conversation.customer_id).in_(ids))
                .order_by(
                    col(Conversation.last_message_at).desc(),
                    col(Conversation.id).desc(),
                )
            )
        ).all()
    )
    history = await order_history(session, [o.id for o in orders if o.id is not None])
    details = await conversation_details(session, conversations)
    cards = {
        c.id: CustomerCard(c, [], [], history, [], details, None)
        for c in customers
        if c.id is not None
    }
    for identity in identities:
        cards[identity.customer_id].identities.append(identity)
    for order in orders:
        cards[order.customer_id].orders.append(order)
    for conversation in conversations:
        cards[conversation.customer_id].conversations.append(conversation)
    for card in cards.values():
        card.preferred_channel = preferred_channel(
            card.customer, (i.channel for i in card.identities)
        )
    return [cards[i] for i in ids]
