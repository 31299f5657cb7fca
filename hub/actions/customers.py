"""Customers and their identities: find, create, link and merge, nothing lost."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.errors import InvalidInput, NotFound
from hub.models import Conversation, Customer, Identity, Message, Order
from hub.models.base import utcnow


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
    verified: bool,
    display_name: str | None = None,
) -> Customer:
    """Give `customer` this address; if someone already has it, the two are one person.

    The older customer survives a merge, so order history and ids stay where they were.
    A `verified` link also proves an identity that was only a claim until now.
    """
    existing = (await find_identities(session, [(channel, address)])).get((channel, address))
    if existing is not None and verified and not existing.verified:
        existing.verified = True
        session.add(existing)
    if existing is None:
        session.add(
            Identity(
                customer_id=customer.id,  # type: ignore[arg-type]
                channel=channel,
                address=address,
                verified=verified,
                display_name=display_name,
            )
        )
        await session.flush()
        return customer
    if existing.customer_id == customer.id:
        return customer
    owner = await get_customer(session, existing.customer_id)
    survivor, other = (owner, customer) if owner.id < customer.id else (customer, owner)  # type: ignore[operator]
    return await do_merge_customers(session, survivor, other)


async def do_merge_customers(
    session: AsyncSession, survivor: Customer, other: Customer
) -> Customer:
    """Move identities, conversations (ids kept), messages and orders to `survivor`."""
    if survivor.id == other.id:
        raise InvalidInput("a customer cannot be merged with itself")
    for table in (Identity, Conversation, Message, Order):
        await session.execute(
            update(table).where(col(table.customer_id) == other.id).values(customer_id=survivor.id)
        )
    survivor.name = survivor.name or other.name
    survivor.locale = survivor.locale or other.locale
    survivor.preferred_channel = survivor.preferred_channel or other.preferred_channel
    if other.last_activity_at > survivor.last_activity_at:
        survivor.last_activity_at = other.last_activity_at
        survivor.last_inbound_channel = other.last_inbound_channel or survivor.last_inbound_channel
    other.merged_into_id = survivor.id
    session.add_all([survivor, other])
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


async def touch_customer(customer: Customer, channel: str) -> None:
    customer.last_activity_at = utcnow()
    customer.last_inbound_channel = channel
