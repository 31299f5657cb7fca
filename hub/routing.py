"""The router: dedupe → identity → customer → conversation → message stored → events.

One batch of inbound events is routed in one transaction. Everything is looked up in bulk
(a handful of queries per batch, not per message), which is what keeps the embedded
SQLite default above 2,000 routed messages a second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import current_conversations
from hub.actions.customers import do_link_identity, find_identities, new_customer
from hub.actions.unit import record
from hub.domain import events
from hub.domain.addresses import normalise_email, normalise_phone
from hub.domain.events import Event
from hub.domain.messages import InboundMessage
from hub.domain.types import Channel, ConversationStatus, Direction, MessageStatus, SenderType
from hub.models import Conversation, Customer, Identity, Message
from hub.models.base import utcnow

PREVIEW_CHARS = 300


@dataclass(frozen=True, slots=True)
class Routed:
    """A stored inbound message, as the bots and the metrics see it."""

    inbound: InboundMessage
    message: Message
    conversation: Conversation
    customer: Customer


AfterRoute = Callable[[AsyncSession, list[Routed]], Awaitable[None]]


async def _already_stored(
    session: AsyncSession, batch: list[InboundMessage]
) -> set[tuple[str, str]]:
    keys = {(m.channel.value, m.dedupe_key) for m in batch}
    rows = await session.execute(
        select(col(Message.channel), col(Message.dedupe_key)).where(
            tuple_(col(Message.channel), col(Message.dedupe_key)).in_(keys)
        )
    )
    # IN never matches a NULL dedupe_key, so every row found has one.
    return {(channel, key) for channel, key in rows if key is not None}


def _fresh(batch: list[InboundMessage], stored: set[tuple[str, str]]) -> list[InboundMessage]:
    """Drop provider retries, including two copies inside the same batch."""
    seen = set(stored)
    fresh = []
    for message in batch:
        key = (message.channel.value, message.dedupe_key)
        if key not in seen:
            seen.add(key)
            fresh.append(message)
    return fresh


async def _customers_for(
    session: AsyncSession, batch: list[InboundMessage]
) -> dict[tuple[str, str], Customer]:
    pairs = {(m.channel.value, m.address) for m in batch}
    identities = await find_identities(session, pairs)
    customers: dict[int, Customer] = {}
    if identities:
        rows = await session.scalars(
            select(Customer).where(
                col(Customer.id).in_({i.customer_id for i in identities.values()})
            )
        )
        customers = {c.id: c for c in rows}  # type: ignore[misc]
    by_pair = {pair: customers[i.customer_id] for pair, i in identities.items()}
    missing = [m for m in batch if (m.channel.value, m.address) not in by_pair]
    created: dict[tuple[str, str], tuple[Customer, InboundMessage]] = {}
    for message in missing:
        pair = (message.channel.value, message.address)
        if pair not in created:
            created[pair] = (new_customer(message.display_name, message.locale), message)
    if created:
        session.add_all(c for c, _ in created.values())
        await session.flush()
        session.add_all(
            Identity(
                customer_id=customer.id,  # type: ignore[arg-type]
                channel=pair[0],
                address=pair[1],
                display_name=message.display_name,
            )
            for pair, (customer, message) in created.items()
        )
        await session.flush()
        by_pair.update({pair: customer for pair, (customer, _) in created.items()})
    return by_pair


async def _conversations_for(
    session: AsyncSession, customers: list[Customer], channel_of: dict[int, str]
) -> dict[int, Conversation]:
    # Every customer here is stored (found, or created and flushed), so each has its id.
    ids = {c.id for c in customers if c.id is not None}
    current = await current_conversations(session, ids)
    new = {
        cid: Conversation(customer_id=cid, channel=channel_of[cid])
        for cid in ids
        if cid not in current
    }
    if new:
        session.add_all(new.values())
        await session.flush()
        for conversation in new.values():
            record(
                session,
                Event(
                    events.CONVERSATION_CREATED,
                    conversation_id=conversation.id,
                    customer_id=conversation.customer_id,
                ),
            )
    current.update(new)
    return current


async def _apply_contact(session: AsyncSession, routed: Routed) -> Customer:
    """A shared phone or email links this customer to whoever already has it."""
    claim = routed.inbound.contact
    customer = routed.customer
    if claim is None:
        return customer
    phone = normalise_phone(claim.phone) if claim.phone else None
    email = normalise_email(claim.email) if claim.email else None
    if claim.name and not customer.name:
        customer.name = claim.name
    for channel, address in (
        (Channel.SMS, phone),
        (Channel.WHATSAPP, phone),
        (Channel.EMAIL, email),
    ):
        if address:
            customer = await do_link_identity(
                session, customer, channel.value, address, verified=claim.verified
            )
    return customer


async def route_batch(
    session: AsyncSession, batch: list[InboundMessage], after: AfterRoute | None = None
) -> list[Routed]:
    """Store every new message of `batch` in its customer's thread; the caller commits."""
    fresh = _fresh(batch, await _already_stored(session, batch))
    if not fresh:
        return []
    customers = await _customers_for(session, fresh)
    channel_of = {customers[(m.channel.value, m.address)].id: m.channel.value for m in fresh}
    conversations = await _conversations_for(
        session,
        list({id(c): c for c in customers.values()}.values()),
        channel_of,  # type: ignore[arg-type]
    )
    routed: list[Routed] = []
    now = utcnow()
    for inbound in fresh:
        customer = customers[(inbound.channel.value, inbound.address)]
        conversation = conversations[customer.id]  # type: ignore[index]
        message = Message(
            conversation_id=conversation.id,  # type: ignore[arg-type]
            customer_id=customer.id,  # type: ignore[arg-type]
            direction=Direction.INBOUND,
            sender_type=SenderType.CUSTOMER,
            channel=inbound.channel.value,
            text=inbound.text,
            status=MessageStatus.RECEIVED,
            external_id=inbound.external_id,
            dedupe_key=inbound.dedupe_key,
            address=inbound.address,
            created_at=now,
        )
        session.add(message)
        conversation.channel = inbound.channel.value
        conversation.last_message_at = now
        conversation.last_message_text = inbound.text[:PREVIEW_CHARS]
        if conversation.status in (ConversationStatus.SNOOZED, ConversationStatus.PENDING):
            conversation.status = ConversationStatus.OPEN
            conversation.snooze_until = None
        customer.last_activity_at = now
        customer.last_inbound_channel = inbound.channel.value
        if not customer.name and inbound.display_name:
            customer.name = inbound.display_name
        if inbound.locale and not customer.locale:
            customer.locale = inbound.locale
        routed.append(Routed(inbound, message, conversation, customer))
    await session.flush()
    for item in routed:
        if item.inbound.contact is not None:
            await _apply_contact(session, item)
        record(
            session,
            Event(
                events.MESSAGE_CREATED,
                conversation_id=item.conversation.id,
                customer_id=item.conversation.customer_id,
                data={"message_id": item.message.id, "dedupe_key": item.inbound.dedupe_key},
            ),
        )
    if after is not None:
        await after(session, routed)
    return routed
