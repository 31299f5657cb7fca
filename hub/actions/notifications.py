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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.bot_context import bot_order
from hub.actions.channel_state import whatsapp_window_open
from hub.actions.customers import get_customer
from hub.actions.replies import do_reply
from hub.actions.texts import LOCALES, has_template, pick_locale, render
from hub.actions.unit import record
from hub.domain import events
from hub.domain.bots import order_view
from hub.domain.events import Event
from hub.domain.types import REACHABILITY_ORDER, Channel, ConversationStatus, Direction, SenderType
from hub.models import Conversation, Customer, Identity, Message, Order, OrderNotification
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

    @property
    def queued(self) -> bool:
        return self.message is not None


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
    return Notice(message=message, channel=route.channel.value)
