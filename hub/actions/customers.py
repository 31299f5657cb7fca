"""Customers and their proven identities: find, create, link and merge, nothing lost.

Only proof links (SPEC §6): every caller of `do_link_identity` holds an address a provider
delivered from, the shop's authenticated API sent, a valid identity_hash covered, or an
operator confirmed. What someone merely says about themselves goes to `hub.actions.claims`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.folding import fold_conversations
from hub.actions.locks import surviving_ids
from hub.actions.suggestions import ACCEPTED, do_settle_between, move_suggestions, suggest_merge
from hub.actions.timeline import TimelineKind, move_timeline, note
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.errors import InvalidInput, NotFound
from hub.models import (
    Conversation,
    CsatRating,
    Customer,
    Identity,
    Message,
    Order,
)


async def find_identities(
    session: AsyncSession, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Identity]:
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Identity).where(col(Identity.address).in_({a for _, a in wanted}))
    )
    return {(i.channel, i.address): i for i in rows if (i.channel, i.address) in wanted}


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


def new_customer(name: str | None, locale: str | None) -> Customer:
    return Customer(name=(name or "").strip()[:200] or None, locale=(locale or "")[:16] or None)


async def do_link_identity(
    session: AsyncSession,
    customer: Customer,
    channel: str,
    address: str,
    *,
    rule: str | None = None,
    operator_id: int | None = None,
    display_name: str | None = None,
) -> Customer:
    """Give `customer` this proven address; if another customer proved it, they are one
    person and merge (the older survives, so order history and ids stay where they were).

    Proof beats a claim: an address another customer only claimed moves to `customer`,
    proven, and the claimant keeps a suggested merge instead.
    """
    existing = (await find_identities(session, [(channel, address)])).get((channel, address))
    assert customer.id is not None
    if existing is not None and existing.customer_id != customer.id:
        if not existing.verified:
            await _take_over(session, existing, customer.id, rule=rule, operator_id=operator_id)
            return customer
        owner = await get_customer(session, existing.customer_id)
        older, newer = (owner, customer) if (owner.id or 0) < customer.id else (customer, owner)
        return await do_merge_customers(
            session, older, newer, rule=rule or f"same {channel} {address}", operator_id=operator_id
        )
    if existing is None:
        session.add(
            Identity(
                customer_id=customer.id,
                channel=channel,
                address=address,
                verified=True,
                display_name=display_name,
            )
        )
        kind = TimelineKind.LINK
    elif not existing.verified:
        existing.verified = True
        session.add(existing)
        kind = TimelineKind.PROVE
    else:
        return customer  # already theirs, proven
    note(
        session,
        customer.id,
        kind,
        channel=channel,
        address=address,
        operator_id=operator_id,
        rule=rule,
    )
    await session.flush()
    return customer


async def _take_over(
    session: AsyncSession,
    claimed: Identity,
    customer_id: int,
    *,
    rule: str | None,
    operator_id: int | None = None,
) -> None:
    """Proof beats a claim: the address moves to the customer who proved it, and the
    claimant keeps a suggested merge instead."""
    claimant = claimed.customer_id
    claimed.customer_id = customer_id
    claimed.verified = True
    session.add(claimed)
    channel, address = claimed.channel, claimed.address
    note(
        session,
        customer_id,
        TimelineKind.LINK,
        channel=channel,
        address=address,
        operator_id=operator_id,
        rule=rule,
    )
    note(
        session,
        claimant,
        TimelineKind.CLAIM_MOVED,
        channel=channel,
        address=address,
        other_customer_id=customer_id,
        rule=rule,
    )
    await suggest_merge(session, claimant, customer_id, channel, address)
    await session.flush()


async def take_over_claim(
    session: AsyncSession, customer_id: int, channel: str, address: str, *, rule: str
) -> None:
    """The router's way in: a provider delivered from an address someone only claimed."""
    claimed = (await find_identities(session, [(channel, address)])).get((channel, address))
    if claimed is not None and not claimed.verified and claimed.customer_id != customer_id:
        await _take_over(session, claimed, customer_id, rule=rule)


async def do_merge_into(
    session: AsyncSession, survivor_id: int, other_id: int, operator_id: int
) -> Customer:
    """An operator's merge (card or API): `other_id` may already be merged into the
    survivor (a second submit), which answers the survivor again."""
    survivor = await get_customer(session, survivor_id)
    other = await session.get(Customer, other_id)
    if other is None:
        raise NotFound(f"customer {other_id} not found")
    return await do_merge_customers(session, survivor, other, operator_id=operator_id)


async def do_merge_customers(
    session: AsyncSession,
    survivor: Customer,
    other: Customer,
    *,
    operator_id: int | None = None,
    rule: str | None = None,
) -> Customer:
    """Move identities, conversations (ids kept), messages and orders to `survivor`, with
    the two unresolved conversations folded into one (hub.actions.folding).

    Both customers are locked first, so a merge racing an inbound message or a second
    submission of the same merge sees the other's outcome: merging what is already merged
    is a no-op that answers the survivor.
    """
    if survivor.id == other.id:
        raise InvalidInput("a customer cannot be merged with itself")
    assert survivor.id is not None and other.id is not None
    now_is = await surviving_ids(session, [survivor.id, other.id])
    if now_is[survivor.id] == now_is[other.id]:
        return await get_customer(session, now_is[survivor.id])
    if now_is[survivor.id] != survivor.id or now_is[other.id] != other.id:
        raise NotFound("one of these customers was just merged into another; reload")
    await session.refresh(survivor)
    await session.refresh(other)
    await fold_conversations(session, survivor.id, other.id)
    for table in (Identity, Conversation, Message, Order, CsatRating):
        await session.execute(
            update(table).where(col(table.customer_id) == other.id).values(customer_id=survivor.id)
        )
    await do_settle_between(session, survivor.id, other.id, ACCEPTED, operator_id)
    await move_suggestions(session, other.id, survivor.id)
    await move_timeline(session, other.id, survivor.id)
    survivor.name = survivor.name or other.name
    survivor.locale = survivor.locale or other.locale
    survivor.preferred_channel = survivor.preferred_channel or other.preferred_channel
    if other.last_activity_at > survivor.last_activity_at:
        survivor.last_activity_at = other.last_activity_at
        survivor.last_inbound_channel = other.last_inbound_channel or survivor.last_inbound_channel
    other.merged_into_id = survivor.id
    session.add_all([survivor, other])
    note(
        session,
        survivor.id,
        TimelineKind.MERGE,
        other_customer_id=other.id,
        operator_id=operator_id,
        rule=None if operator_id else rule,
    )
    await session.flush()
    record(
        session,
        Event(
            events.CUSTOMER_MERGED,
            customer_id=survivor.id,
            data={"survivor_id": survivor.id, "merged_id": other.id},
        ),
    )
    return survivor


MAX_NAME_CHARS = 200


def check_customer_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("name must not be empty")
    if len(clean) > MAX_NAME_CHARS:
        raise InvalidInput(f"name is longer than {MAX_NAME_CHARS} characters")
    return clean


def do_rename_customer(session: AsyncSession, customer: Customer, name: str) -> None:
    customer.name = check_customer_name(name)
    session.add(customer)
    record(session, Event(events.CUSTOMER_UPDATED, customer_id=customer.id))
