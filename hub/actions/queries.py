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
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlalchemy.sql.expression import TableClause
from sqlmodel import col

from hub.actions.conversations import labels_of
from hub.actions.orders import order_history
from hub.actions.suggestions import open_suggestions
from hub.actions.timeline import timeline
from hub.domain.types import REACHABILITY_ORDER
from hub.models import (
    Conversation,
    ConversationLabel,
    Customer,
    CustomerEvent,
    Identity,
    MergeSuggestion,
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
    # Suggested merges naming this customer on either side (open ones only), and the
    # customers on their other sides.
    suggestions: list[MergeSuggestion] = field(default_factory=list)
    suggested: dict[int, Customer] = field(default_factory=dict)
    # Filled for a single card (the thread's side, GET /customers/{id}), newest first.
    timeline: list[CustomerEvent] = field(default_factory=list)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conversation_filters(
    query: Select[Conversation], where: ConversationFilter, dialect: str, *, walk: bool = False
) -> Select[Conversation]:
    """`walk`: SQLite only, for a search with many hits (see `_many_hits`)."""
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


_FTS = table("messages_fts", column("rowid"), column("messages_fts"))
_NAMES = table("customers_trgm", column("rowid"), column("customers_trgm"))
_ADDRESSES = table("identities_trgm", column("rowid"), column("identities_trgm"))
TRIGRAM = 3  # the trigram tables find texts of at least this many characters
# From this many hits of a search (SQLite), walking conversations newest first beats
# looking up and sorting every hit; below it, a walk could read every conversation.
WALK_FROM_HITS = 2000


def _search_words(q: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", q)][:MAX_SEARCH_WORDS]


def _fts_hits(words: list[str]) -> Select[tuple[int]]:
    """Ids of the messages with every word as a word prefix (SQLite's FTS5 table)."""
    match = " ".join(f'"{w}"*' for w in words)
    return select(_FTS.c.rowid).where(_FTS.c.messages_fts.op("MATCH")(match))


def _trigram_hits(fts: TableClause, q: str) -> Select[tuple[int]]:
    phrase = '"' + q.replace('"', '""') + '"'
    return select(fts.c.rowid).where(fts.c[fts.name].op("MATCH")(phrase))


def text_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Messages whose text has every word of `q` (as a word prefix), case-insensitively.

    SQLite: the FTS5 table of migration 0002; PostgreSQL: its GIN tsvector index (the
    expression must stay `to_tsvector('simple', text)` for the index to be used).
    Words are `\\w+` runs, so no query syntax of either engine reaches it from a user.
    """
    words = _search_words(q)
    if not words:
        return false()
    if dialect == "sqlite":
        return col(Message.id).in_(_fts_hits(words))
    tsquery = " & ".join(f"{w}:*" for w in words)
    simple: ColumnElement[str] = literal_column("'simple'")
    return func.to_tsvector(simple, col(Message.text)).op("@@")(func.to_tsquery(simple, tsquery))


def name_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Customers whose name has `q` in it, case-insensitively.

    On SQLite the trigram table of migration 0005 narrows it down first (the LIKE then
    only rechecks its candidates); PostgreSQL's trigram index serves the ILIKE itself."""
    like = col(Customer.name).ilike(like_pattern(q), escape="\\")
    if dialect == "sqlite" and len(q) >= TRIGRAM:
        return and_(col(Customer.id).in_(_trigram_hits(_NAMES, q)), like)
    return like


def address_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Identities whose address has `q` in it, case-insensitively (as `name_matches`)."""
    like = col(Identity.address).ilike(like_pattern(q), escape="\\")
    if dialect == "sqlite" and len(q) >= TRIGRAM:
        return and_(col(Identity.id).in_(_trigram_hits(_ADDRESSES, q)), like)
    return like


async def _many_hits(session: AsyncSession, q: str) -> bool:
    """Whether a search on SQLite has at least WALK_FROM_HITS candidate rows (messages,
    names, addresses), each counted only that far: a few index reads, not the search."""
    words = _search_words(q)
    candidates = [_fts_hits(words)] if words else []
    if len(q) >= TRIGRAM:
        candidates += [_trigram_hits(_NAMES, q), _trigram_hits(_ADDRESSES, q)]
    total = 0
    for hits in candidates:
        capped = hits.limit(WALK_FROM_HITS - total).subquery()
        total += await session.scalar(select(func.count()).select_from(capped)) or 0
        if total >= WALK_FROM_HITS:
            return True
    return False


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
    walk = dialect == "sqlite" and bool(where.q) and await _many_hits(session, where.q or "")
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


async def list_customers(
    session: AsyncSession, q: str | None, *, after: tuple[datetime, int] | None, limit: int
) -> list[Customer]:
    """Customers not merged away, newest activity first; `q` matches a name or an address."""
    query = select(Customer).where(col(Customer.merged_into_id).is_(None))
    if q:
        dialect = session.get_bind().dialect.name
        by_address = select(col(Identity.customer_id)).where(address_matches(q, dialect))
        query = query.where(or_(name_matches(q, dialect), col(Customer.id).in_(by_address)))
    query = newest_first(query, col(Customer.last_activity_at), col(Customer.id), after, limit)
    return list((await session.scalars(query)).all())


def preferred_channel(customer: Customer, channels: Iterable[str]) -> str | None:
    """Set by an operator or the API, else the latest inbound channel, else the first
    reachable of WhatsApp, Telegram, SMS, email among `channels`: the channels of the
    customer's proven identities (a claim is never picked, SPEC §6)."""
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
    suggestions = await open_suggestions(session, ids)
    sides = {side for s in suggestions for side in (s.customer_id, s.owner_id)}
    others = {
        c.id: c
        for c in await session.scalars(select(Customer).where(col(Customer.id).in_(sides)))
        if c.id is not None
    }
    for suggestion in suggestions:
        for side, other in (
            (suggestion.customer_id, suggestion.owner_id),
            (suggestion.owner_id, suggestion.customer_id),
        ):
            if side in cards and other in others:
                cards[side].suggestions.append(suggestion)
                cards[side].suggested[other] = others[other]
    for card in cards.values():
        card.preferred_channel = preferred_channel(
            card.customer, (i.channel for i in card.identities if i.verified)
        )
    return [cards[i] for i in ids]


async def full_card(session: AsyncSession, customer: Customer) -> CustomerCard:
    """One customer's card with its timeline."""
    [card] = await customer_cards(session, [customer])
    card.timeline = await timeline(session, customer.id or 0)
    return card
