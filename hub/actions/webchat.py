"""Web chat visitors: what the widget may show them, and who they say they are."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.claims import do_claim_identity
from hub.actions.customers import do_link_identity, find_identities, get_customer, new_customer
from hub.actions.unit import record
from hub.domain import events
from hub.domain.addresses import normalise_email, normalise_phone
from hub.domain.events import Event
from hub.domain.types import Channel
from hub.errors import InvalidInput
from hub.models import Customer, Identity, Message
from hub.queries.customers import claimed_elsewhere

HISTORY_LIMIT = 100


async def visitor_identity(session: AsyncSession, visitor_id: str) -> Identity | None:
    pair = (Channel.WEBCHAT.value, visitor_id)
    return (await find_identities(session, [pair])).get(pair)


async def visitor_history(session: AsyncSession, identity: Identity | None) -> list[Message]:
    """A verified visitor sees the customer's whole thread; anyone else only their own chat
    (`identity`: the visitor's web chat identity, None for one the hub has not seen)."""
    if identity is None:
        return []
    visitor_id = identity.address
    query = select(Message).where(col(Message.private).is_(False))
    if identity.sees_whole_thread:
        query = query.where(col(Message.customer_id) == identity.customer_id)
    else:
        query = query.where(
            col(Message.customer_id) == identity.customer_id,
            col(Message.channel) == Channel.WEBCHAT.value,
            or_(col(Message.address) == visitor_id, col(Message.address).is_(None)),
        )
    rows = await session.scalars(query.order_by(col(Message.id).desc()).limit(HISTORY_LIMIT))
    return list(reversed(rows.all()))


async def find_by_dedupe(session: AsyncSession, dedupe_key: str) -> Message | None:
    return await session.scalar(
        select(Message).where(
            col(Message.channel) == Channel.WEBCHAT.value, col(Message.dedupe_key) == dedupe_key
        )
    )


async def do_identify(
    session: AsyncSession,
    visitor_id: str,
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    verified: bool,
) -> Customer:
    """Who the visitor says they are (SPEC §6).

    `verified`: a valid identity_hash proves the address it was made over (the email when
    one is given, else the phone): that address links, joining whoever holds it, and the
    widget may then show that customer's whole thread. Everything else is a claim: it never
    links, merges or reveals, and a claimed name never overwrites a name.
    """
    clean_email = normalise_email(email) if email else None
    clean_phone = normalise_phone(phone) if phone else None
    if email and clean_email is None:
        raise InvalidInput("that email address is not valid")
    if phone and clean_phone is None:
        raise InvalidInput("that phone number is not valid")
    identity = await visitor_identity(session, visitor_id)
    if identity is None:
        customer = new_customer(name, None)
        session.add(customer)
        await session.flush()
        identity = Identity(
            customer_id=customer.id,  # type: ignore[arg-type]
            channel=Channel.WEBCHAT.value,
            address=visitor_id,
            verified=True,  # the hub's own signed visitor id, as when the visitor writes first
        )
        session.add(identity)
        await session.flush()
    else:
        customer = await get_customer(session, identity.customer_id)
    if name and not customer.name:
        customer.name = name.strip()[:200]
    proven = Channel.EMAIL if clean_email else Channel.SMS
    for channel, address in ((Channel.EMAIL, clean_email), (Channel.SMS, clean_phone)):
        if not address:
            continue
        if verified and channel is proven:
            customer = await do_link_identity(
                session, customer, channel.value, address, rule="web chat identity_hash"
            )
        else:
            await do_claim_identity(
                session, customer, channel.value, address, via="web chat identify"
            )
    if verified:
        identity.sees_whole_thread = True
    session.add_all([customer, identity])
    await session.flush()
    record(session, Event(events.CUSTOMER_UPDATED, customer_id=customer.id))
    return customer


async def visitor_details(session: AsyncSession, identity: Identity | None) -> dict[str, str]:
    """What the visitor told us about themselves, so the widget remembers it on reload:
    their name and the email and phone they gave (held, claimed or only suggested)."""
    if identity is None:
        return {}
    customer = await session.get(Customer, identity.customer_id)
    details = {"name": customer.name} if customer is not None and customer.name else {}
    own = await session.scalars(
        select(Identity)
        .where(
            col(Identity.customer_id) == identity.customer_id,
            col(Identity.channel).in_([Channel.EMAIL.value, Channel.SMS.value]),
        )
        .order_by(col(Identity.id))
    )
    said = [(i.channel, i.address) for i in own]
    said += [(s.channel, s.address) for s in await claimed_elsewhere(session, identity.customer_id)]
    for channel, address in said:
        key = "email" if channel == Channel.EMAIL.value else "phone"
        details.setdefault(key, address)
    return details
