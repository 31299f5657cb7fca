"""Order feeds applied: a platform's order event becomes the same upsert (and the same
once-per-status notice) as `PUT /orders/{number}`.

What differs from the API: the feed names its own order id, kept in `feed_orders` so a
shipment or a deletion (which name only that id) finds the order; a delivery id is applied
once, ever; an event older than the state already applied is skipped (platforms do not
promise delivery order); which new statuses tell the customer is the shop's setting
(HUB_ORDER_NOTIFY_STATUSES) instead of a flag per request.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.notifications import do_notify_order_status
from hub.actions.orders import OrderCustomer, OrderInput, do_upsert_order
from hub.domain.feeds import FeedItem, FeedKind, FeedOrder
from hub.domain.types import Channel
from hub.models import FeedDelivery, FeedOrderLink, Identity, Order

log = logging.getLogger(__name__)


class FeedOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REPEAT = "repeat"  # this delivery id was applied before
    STALE = "stale"  # older than the state already applied
    UNKNOWN_ORDER = "unknown_order"  # a shipment or deletion of an order never fed


@dataclass(frozen=True, slots=True)
class Notices:
    """When a feed's change tells the customer: these statuses, over these channels."""

    statuses: frozenset[str]
    enabled: Collection[Channel]
    whatsapp_templates: Mapping[str, str]


async def do_record_delivery(session: AsyncSession, source: str, delivery_id: str) -> bool:
    """True the first time this delivery is seen (and keeps it); False for a repeat.
    One order's deliveries are applied one at a time (one queue partition), so the read
    cannot race; the unique constraint still guards it."""
    seen = await session.scalar(
        select(col(FeedDelivery.id)).where(
            col(FeedDelivery.source) == source, col(FeedDelivery.delivery_id) == delivery_id
        )
    )
    if seen is not None:
        return False
    session.add(FeedDelivery(source=source, delivery_id=delivery_id))
    await session.flush()
    return True


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _item(item: FeedItem) -> dict[str, Any]:
    """As the orders API stores an item: given fields only."""
    stored: dict[str, Any] = {"name": item.name, "qty": item.qty}
    if item.sku is not None:
        stored["sku"] = item.sku
    if item.price is not None:
        stored["price"] = item.price
    return stored


async def _known_contact(session: AsyncSession, customer_id: int) -> OrderCustomer:
    """The order's customer as proven identities name them: a shipment carries no customer
    block of its own, and the upsert must find the same person again."""
    found = await session.scalars(
        select(Identity).where(
            col(Identity.customer_id) == customer_id,
            col(Identity.verified).is_(True),
            col(Identity.channel).in_(
                [Channel.EMAIL.value, Channel.SMS.value, Channel.TELEGRAM.value]
            ),
        )
    )
    by_channel = {identity.channel: identity.address for identity in found}
    return OrderCustomer(
        email=by_channel.get(Channel.EMAIL.value),
        phone=by_channel.get(Channel.SMS.value),
        telegram_id=by_channel.get(Channel.TELEGRAM.value),
    )


async def _link(session: AsyncSession, event: FeedOrder) -> FeedOrderLink | None:
    found = await session.scalars(
        select(FeedOrderLink).where(
            col(FeedOrderLink.source) == event.source,
            col(FeedOrderLink.source_id) == event.source_id,
        )
    )
    return found.first()


async def _input(session: AsyncSession, event: FeedOrder, link: FeedOrderLink | None) -> OrderInput:
    if event.kind is FeedKind.ORDER:
        assert event.number is not None and event.status is not None
        return OrderInput(
            number=event.number,
            status=event.status,
            customer=OrderCustomer(name=event.name, phone=event.phone, email=event.email),
            items=None if event.items is None else [_item(i) for i in event.items],
            total=event.total,
            currency=event.currency,
            tracking_url=event.tracking_url,
        )
    assert link is not None
    order = await session.get(Order, link.order_id)
    assert order is not None
    return OrderInput(
        number=order.number,
        status=event.status or order.status,
        customer=await _known_contact(session, order.customer_id),
        tracking_url=event.tracking_url,
    )


async def do_apply_feed_order(
    session: AsyncSession, event: FeedOrder, notices: Notices | None
) -> FeedOutcome:
    """Upsert the order the event describes; tell the customer of a new status in
    `notices.statuses` (None: never, e.g. a backfill of history or a deletion)."""
    link = await _link(session, event)
    moment = _moment(event.updated_at)
    applied = link.source_updated_at if link is not None else None
    if moment is not None and applied is not None and moment < applied:
        return FeedOutcome.STALE
    if event.kind is not FeedKind.ORDER and link is None:
        log.info("%s order %s: %s of an order never fed", event.source, event.source_id, event.kind)
        return FeedOutcome.UNKNOWN_ORDER
    order, created, changed = await do_upsert_order(session, await _input(session, event, link))
    assert order.id is not None
    if link is None:
        session.add(
            FeedOrderLink(
                source=event.source,
                source_id=event.source_id,
                order_id=order.id,
                source_updated_at=moment,
            )
        )
    else:
        link.order_id = order.id
        if moment is not None:
            link.source_updated_at = moment
    await session.flush()
    if event.kind is FeedKind.DELETED:
        notices = None  # the shop's housekeeping, nothing the customer did or awaits
    if notices is not None and changed and not created and order.status in notices.statuses:
        await do_notify_order_status(
            session, order, enabled=notices.enabled, whatsapp_templates=notices.whatsapp_templates
        )
    if created:
        return FeedOutcome.CREATED
    return FeedOutcome.UPDATED if changed else FeedOutcome.UNCHANGED
