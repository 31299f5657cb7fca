"""Proactive order-status notifications: the right channel, once per status, in the thread.

The channel is the customer's preferred one (SPEC §5: set by an operator or the API, else
the one they last wrote from), else the first reachable of WhatsApp, Telegram, SMS, email.
A channel is skipped when the hub has no sender for it, the customer has no address on it,
or (SMS) the number opted out. WhatsApp outside its 24 h window sends the configured
Content template (`HUB_WHATSAPP_TEMPLATES`, kind → ContentSid) or falls to the next channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.bot_context import bot_order
from hub.actions.channel_state import whatsapp_window_open, window_open
from hub.actions.customers import get_customer
from hub.actions.replies import check_reply_text, do_reply, reply_address
from hub.actions.texts import LOCALES, has_template, pick_locale, render
from hub.actions.unit import defer_send_of, record
from hub.domain import events
from hub.domain.bots import order_view
from hub.domain.events import Event
from hub.domain.messages import PREVIEW_CHARS
from hub.domain.types import (
    REACHABILITY_ORDER,
    Channel,
    ConversationStatus,
    Direction,
    MessageStatus,
    SenderType,
)
from hub.errors import InvalidInput
from hub.models import Conversation, Customer, Identity, Message, Order, OrderNotification
from hub.models.base import utcnow
from hub.queries.customers import preferred_channel

log = logging.getLogger(__name__)

_STATUS_NAME = re.compile(r"[a-z_]{1,64}")
ORDER_STATUS_KIND = "order_status"


@dataclass(frozen=True, slots=True)
class Reach:
    """What the hub knows about reaching the customer on one channel."""

    channel: Channel
    opted_out: bool = False  # SMS: the number texted STOP
    window_open: bool = True  # WhatsApp: within 24 h of their last message


class NoticeReason(StrEnum):
    """Why a requested notice was not queued (the `notification.reason` of `PUT /orders`)."""

    SAME_STATUS = "same_status"  # the order already had this status: nothing changed
    ALREADY_NOTIFIED = "already_notified"  # the customer was told of this status before
    NO_REACHABLE_CHANNEL = "no_reachable_channel"  # no proven address on an enabled channel
    OPTED_OUT = "opted_out"  # only reachable on numbers that texted STOP


@dataclass(frozen=True, slots=True)
class Notice:
    """What a notify request did: the queued notice and its channel, or why there is none."""

    message: Message | None = None
    channel: str | None = None
    reason: NoticeReason | None = None
    # The stored notice's id; set without `message` where a batch stored it by Core insert.
    message_id: int | None = None

    @property
    def queued(self) -> bool:
        return self.message is not None or self.message_id is not None


@dataclass(frozen=True, slots=True)
class Route:
    channel: Channel
    content_sid: str | None = None  # WhatsApp Content template instead of free-form text


def choose_route(
    preferred: str | None,
    reach: Mapping[Channel, Reach],
    enabled: Collection[Channel],
    templates: Mapping[str, str],
    kind: str = ORDER_STATUS_KIND,
) -> Route | None:
    """The preferred channel if it can carry the message, else the next reachable one."""
    order: list[Channel] = []
    for name in (preferred, *REACHABILITY_ORDER):
        try:
            channel = Channel(name) if name else None
        except ValueError:
            channel = None
        if channel is not None and channel not in order:
            order.append(channel)
    for channel in order:
        known = reach.get(channel)
        if known is None or channel not in enabled or known.opted_out:
            continue
        if channel is Channel.WHATSAPP and not known.window_open:
            content_sid = templates.get(kind)
            if content_sid:
                return Route(channel, content_sid)
            continue  # window closed and no template: the next channel
        return Route(channel)
    return None


async def _last_inbound(session: AsyncSession, customer_id: int) -> Message | None:
    found = await session.scalars(
        select(Message)
        .where(
            col(Message.customer_id) == customer_id,
            col(Message.direction) == Direction.INBOUND,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return found.first()


async def _locale(session: AsyncSession, customer: Customer) -> str:
    """The customer's own locale when the hub speaks it, else that of their last message
    (read only then: one statement less on most notices)."""
    own = (customer.locale or "").lower().replace("_", "-").split("-", 1)[0]
    if own in LOCALES:
        return own
    assert customer.id is not None
    last = await _last_inbound(session, customer.id)
    return pick_locale(customer.locale, last.text if last else None)


async def customer_reach(
    session: AsyncSession, customer_id: int, identities: Iterable[Identity]
) -> dict[Channel, Reach]:
    reach: dict[Channel, Reach] = {}
    for identity in identities:
        try:
            channel = Channel(identity.channel)
        except ValueError:
            continue
        window = channel is not Channel.WHATSAPP or await whatsapp_window_open(session, customer_id)
        opted_out = channel is Channel.SMS and bool(getattr(identity, "opted_out", False))
        previous = reach.get(channel)
        if previous is None or previous.opted_out:
            reach[channel] = Reach(channel, opted_out, window)
    return reach


async def _thread(session: AsyncSession, customer: Customer, channel: Channel) -> Conversation:
    """The customer's current conversation, else their latest one; a customer who never
    wrote gets a new one, resolved: a notification alone is nothing for operators to do."""
    rows = await session.scalars(
        select(Conversation)
        .where(col(Conversation.customer_id) == customer.id)
        .order_by((col(Conversation.status) != ConversationStatus.RESOLVED).desc())
        .order_by(col(Conversation.id).desc())
        .limit(1)
    )
    conversation = rows.first()
    if conversation is None:
        conversation = Conversation(
            customer_id=customer.id,  # type: ignore[arg-type]
            channel=channel.value,
            status=ConversationStatus.RESOLVED,
        )
        session.add(conversation)
        await session.flush()
    return conversation


async def do_notify_order_status(
    session: AsyncSession,
    order: Order,
    *,
    enabled: Collection[Channel],
    whatsapp_templates: Mapping[str, str],
) -> Message | None:
    """Tell the customer the order's new status, once per status: the stored notice, whose
    send the caller's commit queues. None: already told, or no channel reaches them."""
    notice = await notify_order_status(
        session, order, enabled=enabled, whatsapp_templates=whatsapp_templates
    )
    return notice.message


def _unreachable_reason(
    preferred: str | None,
    reach: Mapping[Channel, Reach],
    enabled: Collection[Channel],
    templates: Mapping[str, str],
) -> NoticeReason:
    """opted_out when a STOP is all that stands in the way, else no_reachable_channel."""
    opted_in = {channel: replace(known, opted_out=False) for channel, known in reach.items()}
    if choose_route(preferred, opted_in, enabled, templates) is not None:
        return NoticeReason.OPTED_OUT
    return NoticeReason.NO_REACHABLE_CHANNEL


async def notify_order_status(
    session: AsyncSession,
    order: Order,
    *,
    enabled: Collection[Channel],
    whatsapp_templates: Mapping[str, str],
) -> Notice:
    """`do_notify_order_status`, saying why when nothing is queued (the API answers it)."""
    told = await session.scalar(
        select(col(OrderNotification.id)).where(
            col(OrderNotification.order_id) == order.id,
            col(OrderNotification.status) == order.status,
        )
    )
    if told is not None:
        return Notice(reason=NoticeReason.ALREADY_NOTIFIED)
    customer = await get_customer(session, order.customer_id)
    identities = list(  # proven only: a notification never goes to a claimed address
        await session.scalars(
            select(Identity).where(
                col(Identity.customer_id) == customer.id, col(Identity.verified).is_(True)
            )
        )
    )
    reach = await customer_reach(session, order.customer_id, identities)
    preferred = preferred_channel(customer, [i.channel for i in identities])
    route = choose_route(preferred, reach, enabled, whatsapp_templates)
    if route is None:
        reason = _unreachable_reason(preferred, reach, enabled, whatsapp_templates)
        log.warning("order %s: customer %s not told (%s)", order.number, customer.id, reason)
        return Notice(reason=reason)
    locale = await _locale(session, customer)
    name = f"notify/{order.status}"
    if not _STATUS_NAME.fullmatch(order.status) or not has_template(locale, name):
        name = "notify/other"  # a status of the shop's own is shown as it is
    # Just changed: without its history the view's `since` is the change's own time.
    text = render(locale, name, {"order": order_view(bot_order(order))})
    conversation = await _thread(session, customer, route.channel)
    message = await do_reply(
        session,
        conversation,
        text,
        sender_type=SenderType.SYSTEM,
        channel=route.channel.value,
        content_sid=route.content_sid,
    )
    session.add(
        OrderNotification(
            order_id=order.id,  # type: ignore[arg-type]
            status=order.status,
            channel=route.channel.value,
            message_id=message.id,
        )
    )
    await session.flush()
    record(
        session,
        Event(
            events.ORDER_NOTIFIED,
            conversation_id=conversation.id,
            customer_id=order.customer_id,
            data={"order_id": order.id, "message_id": message.id, "channel": route.channel.value},
        ),
    )
    return Notice(message=message, channel=route.channel.value, message_id=message.id)


# ----------------------------------------------------------------------- many at once
#
# `notify_orders` is `notify_order_status` for a batch of orders (the PUTs of one write
# turn, hub.actions.order_puts): the same decisions, read for all of them in a handful of
# joined statements and written by Core executemany, not a dozen ORM statements a notice.
# The stored reply has the columns `hub.actions.replies.do_reply` gives one, and takes the
# same way out: its send deferred to the commit (`defer_send_of`), its events recorded.

_CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]
_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_NOTIFICATIONS = OrderNotification.__table__  # type: ignore[attr-defined]
_IDENTITIES = Identity.__table__  # type: ignore[attr-defined]
_CUSTOMERS = Customer.__table__  # type: ignore[attr-defined]


async def insert_ids(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` in one statement; their new ids, in the rows' order.

    SQLAlchemy keeps RETURNING in parameter order on SQLite only by inserting a row at a
    time. One multi-row INSERT gives each row the next rowid in turn (the caller holds the
    write turn and its transaction the write lock), so the ids sorted are in the rows'
    order. PostgreSQL has SQLAlchemy's own ordered batch."""
    if session.get_bind().dialect.name == "sqlite":
        made = await session.execute(insert(table).returning(table.c.id), rows)
        ids = sorted(row[0] for row in made)
    else:
        made = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        ids = [row[0] for row in made]
    assert len(ids) == len(rows)
    return ids


@dataclass(frozen=True, slots=True)
class _Inbound:
    """The customer's latest inbound message on one channel, automated or not."""

    id: int
    address: str | None
    text: str
    created_at: datetime


@dataclass
class _Known:
    """What the batch read about one customer."""

    customer: Customer
    identities: list[tuple[str, str, bool]] = field(
        default_factory=list
    )  # channel, address, opted out
    inbound: dict[tuple[str, bool], _Inbound] = field(default_factory=dict)  # (channel, automated)

    def last_inbound(self, channel: str | None = None) -> _Inbound | None:
        found = [m for (ch, _), m in self.inbound.items() if channel is None or ch == channel]
        return max(found, key=lambda m: m.id) if found else None

    def reach(self) -> dict[Channel, Reach]:
        """`customer_reach` from what was read."""
        reach: dict[Channel, Reach] = {}
        for name, _, opted in self.identities:
            try:
                channel = Channel(name)
            except ValueError:
                continue
            last = self.last_inbound(name) if channel is Channel.WHATSAPP else None
            window = channel is not Channel.WHATSAPP or window_open(
                None if last is None else last.created_at
            )
            opted_out = channel is Channel.SMS and opted
            previous = reach.get(channel)
            if previous is None or previous.opted_out:
                reach[channel] = Reach(channel, opted_out, window)
        return reach

    def locale(self) -> str:
        """`_locale`: their own when the hub speaks it, else that of their last message."""
        last = self.last_inbound()
        return pick_locale(self.customer.locale, last.text if last else None)

    def address(self, channel: str) -> str | None:
        """`reply_address` when it needs no more reading: their last non-automated inbound
        address on the channel, else their latest proven one (None: ask `reply_address`)."""
        last = self.inbound.get((channel, False))
        if last is not None and last.address:
            return last.address
        if (channel, True) in self.inbound:
            return None  # an automated sender's address is never picked: the full query
        mine = [address for name, address, _ in self.identities if name == channel]
        return mine[-1] if mine else None


async def _read_known(
    session: AsyncSession, customers: Mapping[int, Customer]
) -> dict[int, _Known]:
    ids = list(customers)
    known = {i: _Known(customers[i]) for i in ids}
    rows = await session.execute(
        select(
            _IDENTITIES.c.customer_id,
            _IDENTITIES.c.channel,
            _IDENTITIES.c.address,
            _IDENTITIES.c.opted_out,
        )
        .where(_IDENTITIES.c.customer_id.in_(ids), _IDENTITIES.c.verified.is_(True))
        .order_by(_IDENTITIES.c.id)
    )
    for customer_id, channel, address, opted_out in rows:
        known[customer_id].identities.append((channel, address, bool(opted_out)))
    latest = (
        select(func.max(_MESSAGES.c.id))
        .where(
            _MESSAGES.c.customer_id.in_(ids),
            _MESSAGES.c.direction == Direction.INBOUND.value,
        )
        .group_by(_MESSAGES.c.customer_id, _MESSAGES.c.channel, _MESSAGES.c.automated)
    )
    rows = await session.execute(
        select(
            _MESSAGES.c.id,
            _MESSAGES.c.customer_id,
            _MESSAGES.c.channel,
            _MESSAGES.c.automated,
            _MESSAGES.c.address,
            _MESSAGES.c.text,
            _MESSAGES.c.created_at,
        ).where(_MESSAGES.c.id.in_(latest))
    )
    for id_, customer_id, channel, automated, address, text, created_at in rows:
        known[customer_id].inbound[(channel, bool(automated))] = _Inbound(
            id_, address, text, created_at
        )
    return known


async def _threads(
    session: AsyncSession, customer_ids: Collection[int]
) -> dict[int, tuple[int, str]]:
    """`_thread` for many: each customer's unresolved conversation, else their latest
    (id, status)."""
    if not customer_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=_CONVERSATIONS.c.customer_id,
            order_by=[
                (_CONVERSATIONS.c.status != ConversationStatus.RESOLVED.value).desc(),
                _CONVERSATIONS.c.id.desc(),
            ],
        )
        .label("rank")
    )
    ranked = (
        select(_CONVERSATIONS.c.id, _CONVERSATIONS.c.customer_id, _CONVERSATIONS.c.status, rank)
        .where(_CONVERSATIONS.c.customer_id.in_(list(customer_ids)))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.id, ranked.c.customer_id, ranked.c.status).where(ranked.c.rank == 1)
    )
    return {customer_id: (id_, status) for id_, customer_id, status in rows}


@dataclass(frozen=True, slots=True)
class _Planned:
    index: int
    order: Order
    route: Route
    text: str
    address: str


async def notify_orders(
    session: AsyncSession,
    orders: Sequence[Order],
    customers: Mapping[int, Customer],
    *,
    enabled: Collection[Channel],
    whatsapp_templates: Mapping[str, str],
) -> list[Notice]:
    """`notify_order_status` for distinct orders whose new status is stored; `customers`
    holds each order's customer. A notice per order, in their order."""
    notices: list[Notice | None] = [None] * len(orders)
    ids = [order.id for order in orders]
    rows = await session.execute(
        select(_NOTIFICATIONS.c.order_id, _NOTIFICATIONS.c.status).where(
            _NOTIFICATIONS.c.order_id.in_(ids)
        )
    )
    told = {(order_id, status) for order_id, status in rows}
    waiting = []
    for index, order in enumerate(orders):
        if (order.id, order.status) in told:
            notices[index] = Notice(reason=NoticeReason.ALREADY_NOTIFIED)
        else:
            waiting.append((index, order))
    if waiting:
        wanted = {order.customer_id: customers[order.customer_id] for _, order in waiting}
        known = await _read_known(session, wanted)
        planned: list[_Planned] = []
        for index, order in waiting:
            about = known[order.customer_id]
            reach = about.reach()
            channels = [name for name, _, _ in about.identities]
            preferred = preferred_channel(about.customer, channels)
            route = choose_route(preferred, reach, enabled, whatsapp_templates)
            if route is None:
                reason = _unreachable_reason(preferred, reach, enabled, whatsapp_templates)
                log.warning(
                    "order %s: customer %s not told (%s)", order.number, order.customer_id, reason
                )
                notices[index] = Notice(reason=reason)
                continue
            locale = about.locale()
            name = f"notify/{order.status}"
            if not _STATUS_NAME.fullmatch(order.status) or not has_template(locale, name):
                name = "notify/other"
            text = check_reply_text(render(locale, name, {"order": order_view(bot_order(order))}))
            address = about.address(route.channel.value) or await reply_address(
                session, order.customer_id, route.channel.value
            )
            if address is None:
                raise InvalidInput(f"the customer has no {route.channel.value} address to reply to")
            planned.append(_Planned(index, order, route, text, address))
        for notice in await _store_notices(session, planned):
            notices[notice[0]] = notice[1]
    return [notice or Notice(reason=NoticeReason.NO_REACHABLE_CHANNEL) for notice in notices]


async def _store_notices(
    session: AsyncSession, planned: list[_Planned]
) -> list[tuple[int, Notice]]:
    """Threads, messages, notice rows, conversation previews; sends and events deferred."""
    if not planned:
        return []
    now = utcnow()
    threads = await _threads(session, {p.order.customer_id for p in planned})
    new = [c for c in dict.fromkeys(p.order.customer_id for p in planned) if c not in threads]
    if new:
        first = {p.order.customer_id: p for p in reversed(planned)}
        rows = [
            {
                "customer_id": customer_id,
                "channel": first[customer_id].route.channel.value,
                "status": ConversationStatus.RESOLVED.value,
                "last_message_at": now,
                "created_at": now,
            }
            for customer_id in new
        ]
        made = await insert_ids(session, _CONVERSATIONS, rows)
        for customer_id, conversation_id in zip(new, made, strict=True):
            threads[customer_id] = (conversation_id, ConversationStatus.RESOLVED.value)
    message_rows = [
        {
            "conversation_id": threads[p.order.customer_id][0],
            "customer_id": p.order.customer_id,
            "direction": Direction.OUTBOUND.value,
            "sender_type": SenderType.SYSTEM.value,
            "operator_id": None,
            "channel": p.route.channel.value,
            "text": p.text,
            "private": False,
            "status": MessageStatus.QUEUED.value,
            "address": p.address,
            "content_sid": p.route.content_sid,
            "created_at": now,
        }
        for p in planned
    ]
    message_ids = await insert_ids(session, _MESSAGES, message_rows)
    await session.execute(
        update(_CONVERSATIONS)
        .where(_CONVERSATIONS.c.id == bindparam("thread"))
        .values(last_message_at=bindparam("at"), last_message_text=bindparam("preview")),
        [
            {
                "thread": threads[p.order.customer_id][0],
                "at": now,
                "preview": p.text[:PREVIEW_CHARS],
            }
            for p in planned
        ],
    )
    await session.execute(
        insert(_NOTIFICATIONS),
        [
            {
                "order_id": p.order.id,
                "status": p.order.status,
                "channel": p.route.channel.value,
                "message_id": message_id,
                "created_at": now,
            }
            for p, message_id in zip(planned, message_ids, strict=True)
        ],
    )
    out = []
    for p, message_id in zip(planned, message_ids, strict=True):
        conversation_id = threads[p.order.customer_id][0]
        customer_id = p.order.customer_id
        channel = p.route.channel.value
        record(
            session,
            Event(
                events.CONVERSATION_UPDATED,
                conversation_id=conversation_id,
                customer_id=customer_id,
            ),
        )
        record(
            session,
            Event(
                events.MESSAGE_CREATED,
                conversation_id=conversation_id,
                customer_id=customer_id,
                data={"message_id": message_id},
            ),
        )
        defer_send_of(session, message_id, conversation_id)
        record(
            session,
            Event(
                events.ORDER_NOTIFIED,
                conversation_id=conversation_id,
                customer_id=customer_id,
                data={"order_id": p.order.id, "message_id": message_id, "channel": channel},
            ),
        )
        out.append((p.index, Notice(channel=channel, message_id=message_id)))
    return out
