"""Claims: what a customer says about who they are, kept apart from proof (SPEC §6).

A claim never links, merges or reveals: a claimed address nobody holds is kept on the
claimant as an unverified identity (never picked by the hub); one another customer holds
leaves a suggested merge on both cards. An operator may confirm a claim, which makes it
proof (who and when are kept).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.customers import find_identities
from hub.actions.suggestions import suggest_merge
from hub.actions.timeline import TimelineKind, note
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import Channel
from hub.errors import Conflict, NotFound
from hub.models import Customer, Identity
from hub.models.base import utcnow

# A phone is one address on SMS and WhatsApp alike: a claim on either names its holder.
_SAME_PHONE = {Channel.SMS.value: Channel.WHATSAPP.value, Channel.WHATSAPP.value: Channel.SMS.value}


async def do_claim_identity(
    session: AsyncSession, customer: Customer, channel: str, address: str, *, via: str
) -> None:
    """Record that `customer` says `address` is theirs (`via`: where they said it)."""
    assert customer.id is not None
    pairs = [(channel, address)]
    if channel in _SAME_PHONE:
        pairs.append((_SAME_PHONE[channel], address))
    held = await find_identities(session, pairs)
    owners = {i.customer_id for i in held.values()}
    note(session, customer.id, TimelineKind.CLAIM, channel=channel, address=address, rule=via)
    if customer.id in owners:
        return  # already theirs, proven or claimed
    if owners:
        for owner in sorted(owners):
            await suggest_merge(session, customer.id, owner, channel, address)
        record(session, Event(events.CUSTOMER_UPDATED, customer_id=min(owners)))
        return
    session.add(Identity(customer_id=customer.id, channel=channel, address=address, verified=False))
    await session.flush()


async def do_confirm_identity(
    session: AsyncSession, customer_id: int, identity_id: int, operator_id: int
) -> Identity:
    """An operator vouches for one of this customer's claims: from now on it is proof, with
    who and when kept. An identity of someone else's names nothing here (NotFound)."""
    identity = await session.get(Identity, identity_id)
    if identity is None or identity.customer_id != customer_id:
        raise NotFound("this customer has no such identity")
    if identity.verified:
        raise Conflict("this identity is already proven", code="already_proven")
    identity.verified = True
    identity.confirmed_by_id = operator_id
    identity.confirmed_at = utcnow()
    session.add(identity)
    note(
        session,
        customer_id,
        TimelineKind.CONFIRM,
        channel=identity.channel,
        address=identity.address,
        operator_id=operator_id,
    )
    record(session, Event(events.CUSTOMER_UPDATED, customer_id=customer_id))
    await session.flush()
    return identity
