"""Conversation lists with filters and keyset pages, their labels, read markers and tab counts.

Pages are keyset pages (`after` is the last row of the previous page), never OFFSET:
a page stays cheap however deep it is, and rows arriving meanwhile do not shift it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import (
    Select,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlmodel import col

from hub.models import (
    Conversation,
    ConversationLabel,
    ConversationRead,
    Customer,
    Identity,
    Message,
)
from hub.queries.search import address_matches, many_hits, name_matches, text_matches

UNASSIGNED = "none"


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


def _conversation_filters(
    query: Select[Conversation], where: ConversationFilter, dialect: str, *, walk: bool = False
) -> Select[Conversation]:
    """`walk`: SQLite only, for a search with many hits (see `many_hits`)."""
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
        in_text = select(col(Message.conversation_id)).where(text_matches(where.q, dialect))
        by_name = select(col(Customer.id)).where(name_matches(where.q, dialect))
        by_address = select(col(Identity.customer_id)).where(address_matches(where.q, dialect))
        conversation_id: SQLCoreOperations[int | None] = col(Conversation.id)
        customer_id: SQLCoreOperations[int] = col(Conversation.customer_id)
        if walk:
            # `+ 0` hides the columns' indexes from SQLite's planner: instead of looking up
            # every hit and sorting them all, it walks conversations newest first, tests
            # each against the hit lists and stops at the page's end.
            conversation_id = conversation_id + literal_column("0")
            customer_id = customer_id + literal_column("0")
        query = query.where(
            or_(
                conversation_id.in_(in_text),
                customer_id.in_(by_name),
                customer_id.in_(by_address),
            )
        )
    return query


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
    walk = dialect == "sqlite" and bool(where.q) and await many_hits(session, where.q or "")
    query = _conversation_filters(select(Conversation), where, dialect, walk=walk)
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


async def labels_of(session: AsyncSession, conversation_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(conversation_ids)
    result: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(col(ConversationLabel.conversation_id), col(ConversationLabel.label))
            .where(col(ConversationLabel.conversation_id).in_(ids))
            .order_by(col(ConversationLabel.label))
        )
        for conversation_id, label in rows:
            result[conversation_id].append(label)
    return result


async def read_markers(
    session: AsyncSession, operator_id: int, conversation_ids: list[int]
) -> dict[int, datetime]:
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(col(ConversationRead.conversation_id), col(ConversationRead.read_at)).where(
            col(ConversationRead.operator_id) == operator_id,
            col(ConversationRead.conversation_id).in_(conversation_ids),
        )
    )
    return {conversation_id: at for conversation_id, at in rows}


COUNT_CAP = 1000  # a tab shows "1000+" beyond this


async def status_counts(session: AsyncSession, statuses: list[str]) -> dict[str, int]:
    """Conversations per status, each counted only up to COUNT_CAP + 1.

    Counting all of them read the whole status index (100,000 conversations: 6 ms of a
    20 ms list page, bench/inbox.py); a capped count reads at most COUNT_CAP + 1 entries
    of it per status, in one query."""
    if not statuses:
        return {}
    counts = []
    for status in statuses:
        some = (
            select(literal(1))
            .where(col(Conversation.status) == status)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        counts.append(select(func.count()).select_from(some).scalar_subquery())
    row = (await session.execute(select(*counts))).one()
    return {status: int(n) for status, n in zip(statuses, row, strict=True)}
