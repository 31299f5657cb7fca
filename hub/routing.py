"""The router: dedupe → identity → customer → conversation → message stored → events.

One batch of inbound events is routed in one transaction with a handful of set-based
statements (not one query per message), on SQLAlchemy Core with cached compiled
statements: the ORM unit of work cost more than the database itself on this path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.attachments import do_add_inbound_attachments
from hub.actions.channel_state import do_store_channel_state, mail_threads
from hub.actions.claims import do_claim_identity
from hub.actions.csat import answers_in_batch, do_record_rating
from hub.actions.customers import do_link_identity, get_customer, take_over_claim
from hub.actions.locks import surviving_ids
from hub.actions.unit import record
from hub.domain import events
from hub.domain.addresses import normalise_email, normalise_phone
from hub.domain.events import Event
from hub.domain.messages import PREVIEW_CHARS, InboundMessage, Routed
from hub.domain.types import Channel, ConversationStatus, Direction, MessageStatus, SenderType
from hub.models.base import utcnow
from hub.models.conversations import UNRESOLVED_SQL
from hub.models.tables import CONVERSATIONS, CUSTOMERS, IDENTITIES, MESSAGES

_UNRESOLVED = text(UNRESOLVED_SQL)
_REOPENED = (ConversationStatus.SNOOZED.value, ConversationStatus.PENDING.value)
# SMS and WhatsApp from one phone are one person: each phone identity has a twin.
_PHONE_TWIN = {Channel.SMS.value: Channel.WHATSAPP.value, Channel.WHATSAPP.value: Channel.SMS.value}


def _with_twin(pair: tuple[str, str]) -> list[tuple[str, str]]:
    twin = _PHONE_TWIN.get(pair[0])
    return [pair, (twin, pair[1])] if twin else [pair]


@dataclass(slots=True)
class _Customer:
    id: int
    name: str | None
    locale: str | None


@dataclass(slots=True)
class _Conversation:
    id: int
    status: str
    assignee_id: int | None = None


async def _already_stored(
    session: AsyncSession, batch: list[InboundMessage]
) -> set[tuple[str, str]]:
    keys = {(m.channel.value, m.dedupe_key) for m in batch}
    rows = await session.execute(
        select(MESSAGES.c.channel, MESSAGES.c.dedupe_key).where(
            tuple_(MESSAGES.c.channel, MESSAGES.c.dedupe_key).in_(keys)
        )
    )
    return {(channel, key) for channel, key in rows}


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


async def _known_customers(
    session: AsyncSession, batch: list[InboundMessage]
) -> tuple[dict[tuple[str, str], _Customer], dict[tuple[str, str], int]]:
    """The customer behind each (channel, address) the hub holds as proven, and the
    claimant of each one only claimed (a claim is never a key to a customer: SPEC §6)."""
    pairs = {twin for m in batch for twin in _with_twin((m.channel.value, m.address))}
    rows = await session.execute(
        select(
            IDENTITIES.c.channel,
            IDENTITIES.c.address,
            IDENTITIES.c.verified,
            CUSTOMERS.c.id,
            CUSTOMERS.c.name,
            CUSTOMERS.c.locale,
        )
        .join(CUSTOMERS, CUSTOMERS.c.id == IDENTITIES.c.customer_id)
        .where(IDENTITIES.c.address.in_({address for _, address in pairs}))
    )
    found: dict[tuple[str, str], _Customer] = {}
    claims: dict[tuple[str, str], int] = {}
    for channel, address, verified, cid, name, locale in rows:
        if (channel, address) not in pairs:
            continue
        if verified:
            found[(channel, address)] = _Customer(cid, name, locale)
        else:
            claims[(channel, address)] = cid
    for pair in list(found):  # a phone known on one channel is the same person on its twin
        for twin in _with_twin(pair)[1:]:
            found.setdefault(twin, found[pair])
    return found, claims


async def _create_customers(
    session: AsyncSession,
    batch: list[InboundMessage],
    found: dict[tuple[str, str], _Customer],
    claims: dict[tuple[str, str], int],
) -> None:
    """New people get a customer and their identity (both phone twins for SMS/WhatsApp).

    An address someone else only claimed becomes the sender's, proven: the provider
    delivered from it. The claimant keeps a suggested merge (hub.actions.suggestions)."""
    first_of: dict[tuple[str, str], InboundMessage] = {}
    for message in batch:
        pair = (message.channel.value, message.address)
        if pair not in found and not any(t in first_of for t in _with_twin(pair)):
            first_of[pair] = message
    if not first_of:
        return
    now = utcnow()
    new = list(first_of.items())
    ids = await _insert_returning_ids(
        session,
        CUSTOMERS,
        [
            {
                "name": (m.display_name or "")[:200] or None,
                "locale": m.locale,
                "created_at": now,
                "last_activity_at": now,
            }
            for _, m in new
        ],
    )
    rows, taken = [], []
    for cid, (pair, m) in zip(ids, new, strict=True):
        for twin in _with_twin(pair):
            if twin in claims:
                taken.append((cid, twin, claims[twin]))
                continue
            rows.append(
                {
                    "customer_id": cid,
                    "channel": twin[0],
                    "address": twin[1],
                    "display_name": m.display_name,
                    "verified": True,
                    "sees_whole_thread": False,
                    "created_at": now,
                }
            )
    if rows:
        await session.execute(insert(IDENTITIES), rows)
    for cid, (channel, address), _claimant in taken:
        await take_over_claim(session, cid, channel, address, rule=f"{channel} delivered from it")
    for cid, (pair, m) in zip(ids, new, strict=True):
        for twin in _with_twin(pair):
            found[twin] = _Customer(cid, m.display_name, m.locale)


async def _insert_returning_ids(
    session: AsyncSession, table: Table, rows: list[dict[str, object]]
) -> list[int]:
    result = await session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [int(i) for i in result.scalars()]


async def _current_conversations(
    session: AsyncSession, customer_ids: Iterable[int]
) -> dict[int, _Conversation]:
    """Each customer's one unresolved conversation (if any): the thread a new message joins."""
    rows = await session.execute(
        select(
            CONVERSATIONS.c.customer_id,
            CONVERSATIONS.c.id,
            CONVERSATIONS.c.status,
            CONVERSATIONS.c.assignee_id,
        )
        .where(
            CONVERSATIONS.c.customer_id.in_(set(customer_ids)),
            CONVERSATIONS.c.status != ConversationStatus.RESOLVED.value,
        )
        .order_by(CONVERSATIONS.c.id)
    )
    return {cid: _Conversation(vid, status, who) for cid, vid, status, who in rows}


async def _open_conversations(
    session: AsyncSession, channel_of: dict[int, str], current: dict[int, _Conversation]
) -> None:
    """A new conversation, with the bot, for each customer who has none unresolved.

    The partial unique index holds one unresolved conversation per customer; a router on
    another worker that opened one first wins, and this one joins it (read again below).
    """
    missing = [cid for cid in channel_of if cid not in current]
    if not missing:
        return
    now = utcnow()
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = (
        dialect_insert(CONVERSATIONS)
        .on_conflict_do_nothing(index_elements=["customer_id"], index_where=_UNRESOLVED)
        .returning(CONVERSATIONS.c.id, CONVERSATIONS.c.customer_id)
    )
    created = await session.execute(
        statement,
        [
            {
                "customer_id": cid,
                "status": ConversationStatus.OPEN.value,
                "channel": channel_of[cid],
                "bot_active": True,
                "last_message_at": now,
                "created_at": now,
            }
            for cid in missing
        ],
    )
    for vid, cid in created:
        current[cid] = _Conversation(vid, ConversationStatus.OPEN.value)
        record(session, Event(events.CONVERSATION_CREATED, conversation_id=vid, customer_id=cid))
    if any(cid not in current for cid in missing):
        current.update(await _current_conversations(session, missing))


_UPDATE_CONVERSATION = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        channel=bindparam("b_channel"),
        last_message_at=bindparam("b_at"),
        last_message_text=bindparam("b_text"),
        status=bindparam("b_status"),
        snooze_until=bindparam("b_snooze"),
    )
)
_UPDATE_CUSTOMER = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("b_id"))
    .values(
        last_activity_at=bindparam("b_at"),
        last_inbound_channel=bindparam("b_channel"),
        # Only a missing name or locale is filled: one an operator set meanwhile, or a
        # survivor's after a merge this batch followed, is never overwritten.
        name=func.coalesce(CUSTOMERS.c.name, bindparam("b_name")),
        locale=func.coalesce(CUSTOMERS.c.locale, bindparam("b_locale")),
    )
)


async def _touch(
    session: AsyncSession,
    latest: Iterable[tuple[InboundMessage, _Customer, _Conversation]],
    now: object,
) -> None:
    """Each conversation and customer once, with the batch's latest message."""
    conversation_rows, customer_rows = [], []
    for inbound, customer, conversation in latest:
        reopen = conversation.status in _REOPENED
        conversation_rows.append(
            {
                "b_id": conversation.id,
                "b_channel": inbound.channel.value,
                "b_at": now,
                "b_text": inbound.text[:PREVIEW_CHARS],
                "b_status": ConversationStatus.OPEN.value if reopen else conversation.status,
                "b_snooze": None,
            }
        )
        customer_rows.append(
            {
                "b_id": customer.id,
                "b_at": now,
                "b_channel": inbound.channel.value,
                "b_name": customer.name or inbound.display_name,
                "b_locale": customer.locale or inbound.locale,
            }
        )
    await session.execute(_UPDATE_CONVERSATION, conversation_rows)
    await session.execute(_UPDATE_CUSTOMER, customer_rows)


async def _apply_contact(session: AsyncSession, routed: Routed) -> None:
    """A phone or email the sender shared about themselves: proof (a Telegram user's own
    contact card) links, joining whoever holds it; anything else is only a claim."""
    shared = routed.inbound.contact
    if shared is None:
        return
    customer = await get_customer(session, routed.customer_id)
    phone = normalise_phone(shared.phone) if shared.phone else None
    email = normalise_email(shared.email) if shared.email else None
    if shared.name and not customer.name:
        customer.name = shared.name[:200]
    for channel, address in (
        (Channel.SMS, phone),
        (Channel.WHATSAPP, phone),
        (Channel.EMAIL, email),
    ):
        if not address:
            continue
        if shared.verified:
            rule = f"{routed.inbound.channel.value}: shared their own contact"
            customer = await do_link_identity(session, customer, channel.value, address, rule=rule)
        elif channel is not Channel.WHATSAPP:  # a phone claim covers both of its channels
            await do_claim_identity(session, customer, channel.value, address, via="shared contact")
    await session.flush()


async def _referenced_threads(
    session: AsyncSession, batch: list[InboundMessage]
) -> dict[str, _Customer]:
    """Mail that answers a stored mail (In-Reply-To/References) joins that customer's thread."""
    found = await mail_threads(session, batch)
    return {key: _Customer(cid, name, locale) for key, (cid, name, locale) in found.items()}


@dataclass(slots=True)
class Plan:
    """What a batch needs, read before the write phase so SQLite's write turn stays short."""

    fresh: list[InboundMessage]
    customers: dict[tuple[str, str], _Customer]
    # Addresses only claimed so far (pair → claimant): the sender's proof takes them over.
    claims: dict[tuple[str, str], int]
    # Mail whose In-Reply-To/References name an open thread: dedupe_key → its customer.
    threads: dict[str, _Customer]

    def customer_of(self, message: InboundMessage) -> _Customer:
        """Whose thread `message` joins: the referenced mail thread's, else the sender's."""
        thread = self.threads.get(message.dedupe_key) if message.channel is Channel.EMAIL else None
        return thread or self.customers[(message.channel.value, message.address)]


async def plan_batch(session: AsyncSession, batch: list[InboundMessage]) -> Plan | None:
    """Reads only: which events are new, and whose threads they join. None: all seen."""
    fresh = _fresh(batch, await _already_stored(session, batch))
    if not fresh:
        return None
    customers, claims = await _known_customers(session, fresh)
    threads = await _referenced_threads(session, fresh)
    for message in fresh:
        if message.dedupe_key in threads and message.channel is Channel.EMAIL:
            # A new address answering our mail thread belongs to that thread's customer.
            customers.setdefault(
                (message.channel.value, message.address), threads[message.dedupe_key]
            )
    return Plan(fresh, customers, claims, threads)


async def _follow_merges(session: AsyncSession, plan: Plan) -> None:
    """Lock the batch's customers (hub.actions.locks) and follow any merge made since the
    plan was read: from here until the commit no merge can move them."""
    known = [*plan.customers.values(), *plan.threads.values()]
    now_is = await surviving_ids(session, {c.id for c in known})
    for customer in known:
        customer.id = now_is.get(customer.id, customer.id)


async def store_batch(session: AsyncSession, plan: Plan) -> list[Routed]:
    """Writes: customers, conversations and messages of a planned batch; the caller commits."""
    fresh, customers = plan.fresh, plan.customers
    await _follow_merges(session, plan)
    await _create_customers(session, fresh, customers, plan.claims)
    # Read under the locks: the one unresolved conversation each customer has right now.
    conversations = await _current_conversations(session, {plan.customer_of(m).id for m in fresh})
    # A bare "5" after a satisfaction question is its answer: it joins the resolved
    # conversation it rates instead of opening a new one (hub.actions.csat).
    ratings = await answers_in_batch(
        session, [(m, plan.customer_of(m).id) for m in fresh], set(conversations)
    )
    channel_of = {
        plan.customer_of(m).id: m.channel.value
        for m in fresh
        if (m.channel.value, m.dedupe_key) not in ratings
    }
    await _open_conversations(session, channel_of, conversations)
    now = utcnow()
    placed = []
    for inbound in fresh:
        customer = plan.customer_of(inbound)
        rated = ratings.get((inbound.channel.value, inbound.dedupe_key))
        if rated is not None:
            rated_conversation = _Conversation(
                rated[0].conversation_id, ConversationStatus.RESOLVED
            )
            placed.append((inbound, customer, rated_conversation))
        else:
            placed.append((inbound, customer, conversations[customer.id]))
    await session.execute(
        insert(MESSAGES),
        [
            {
                "conversation_id": conversation.id,
                "customer_id": customer.id,
                "direction": Direction.INBOUND.value,
                "sender_type": SenderType.CUSTOMER.value,
                "channel": inbound.channel.value,
                "text": inbound.text,
                "private": False,
                "status": MessageStatus.RECEIVED.value,
                "external_id": inbound.external_id,
                "dedupe_key": inbound.dedupe_key,
                "address": inbound.address,
                "created_at": now,
            }
            for inbound, customer, conversation in placed
        ],
    )
    # Ids by the unique (channel, dedupe_key): an ordered INSERT ... RETURNING runs one
    # statement per row on SQLite, a plain executemany and one SELECT do not.
    id_of = {
        (channel, key): message_id
        for message_id, channel, key in await session.execute(
            select(MESSAGES.c.id, MESSAGES.c.channel, MESSAGES.c.dedupe_key).where(
                tuple_(MESSAGES.c.channel, MESSAGES.c.dedupe_key).in_(
                    [(m.channel.value, m.dedupe_key) for m in fresh]
                )
            )
        )
    }
    message_ids = [id_of[(m.channel.value, m.dedupe_key)] for m in fresh]
    latest = {item[2].id: item for item in placed}
    await _touch(session, latest.values(), now)
    await do_store_channel_state(session, list(zip(fresh, message_ids, strict=True)))
    for question, value in ratings.values():
        await do_record_rating(session, question, value)
    await do_add_inbound_attachments(
        session,
        [(m, mid, p[2].id) for m, mid, p in zip(fresh, message_ids, placed, strict=True)],
    )
    routed = [
        Routed(inbound, message_id, conversation.id, customer.id)
        for message_id, (inbound, customer, conversation) in zip(message_ids, placed, strict=True)
    ]
    # Who the thread is assigned to rides along: the inbox's desktop notices go to the
    # assignee without a read per notice per open inbox tab.
    assignee_of = {conversation.id: conversation.assignee_id for _, _, conversation in placed}
    for item in routed:
        record(
            session,
            Event(
                events.MESSAGE_CREATED,
                conversation_id=item.conversation_id,
                customer_id=item.customer_id,
                data={
                    "message_id": item.message_id,
                    "dedupe_key": item.inbound.dedupe_key,
                    "sender": SenderType.CUSTOMER.value,
                    "assignee_id": assignee_of[item.conversation_id],
                },
            ),
        )
        if item.inbound.contact is not None:
            await _apply_contact(session, item)
    return routed
