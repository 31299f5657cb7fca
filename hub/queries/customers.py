"""Customer lists and cards: identities, orders and their history, suggestions, timeline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.types import REACHABILITY_ORDER
from hub.models import (
    Conversation,
    Customer,
    CustomerEvent,
    Identity,
    MergeSuggestion,
    Order,
    OrderStatusChange,
)
from hub.queries.conversations import ConversationDetails, conversation_details, newest_first
from hub.queries.search import address_matches, name_matches


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


async def order_history(
    session: AsyncSession, order_ids: list[int]
) -> dict[int, list[OrderStatusChange]]:
    result: dict[int, list[OrderStatusChange]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.scalars(
            select(OrderStatusChange)
            .where(col(OrderStatusChange.order_id).in_(order_ids))
            .order_by(col(OrderStatusChange.id))
        )
        for change in rows:
            result[change.order_id].append(change)
    return result


async def open_suggestions(
    session: AsyncSession, customer_ids: Iterable[int]
) -> list[MergeSuggestion]:
    """Unsettled suggestions that name any of these customers, on either side."""
    ids = list(customer_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(MergeSuggestion)
        .where(
            col(MergeSuggestion.outcome).is_(None),
            or_(col(MergeSuggestion.customer_id).in_(ids), col(MergeSuggestion.owner_id).in_(ids)),
        )
        .order_by(col(MergeSuggestion.id))
    )
    return list(rows.all())


async def claimed_elsewhere(session: AsyncSession, customer_id: int) -> list[MergeSuggestion]:
    """Addresses this customer claimed that another customer holds (settled or not)."""
    rows = await session.scalars(
        select(MergeSuggestion)
        .where(col(MergeSuggestion.customer_id) == customer_id)
        .order_by(col(MergeSuggestion.id))
    )
    return list(rows.all())


async def timeline(session: AsyncSession, customer_id: int) -> list[CustomerEvent]:
    """Newest first, at most TIMELINE_LIMIT entries."""
    rows = await session.scalars(
        select(CustomerEvent)
        .where(col(CustomerEvent.customer_id) == customer_id)
        .order_by(col(CustomerEvent.id).desc())
        .limit(TIMELINE_LIMIT)
    )
    return list(rows.all())


TIMELINE_LIMIT = 100
