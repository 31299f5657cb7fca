"""Orders from the shop: upserted by number, linked to the customer their fields name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.customers import do_link_identity, find_identities, get_customer, new_customer
from hub.domain.addresses import normalise_email, normalise_phone
from hub.domain.types import Channel
from hub.errors import InvalidInput, NotFound
from hub.models import Customer, Order, OrderStatusChange
from hub.models.base import utcnow

TELEGRAM_ID = re.compile(r"-?[0-9]{1,20}")


@dataclass(frozen=True)
class OrderCustomer:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    telegram_id: str | None = None


@dataclass(frozen=True)
class OrderInput:
    number: str
    status: str
    customer: OrderCustomer
    items: list[dict[str, Any]] | None = None
    total: str | None = None
    currency: str | None = None
    tracking_url: str | None = None
    # Where the customer collects the order; "" clears it, None leaves it as it was.
    pickup_point: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def decimal_string(value: object, what: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{what} must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise InvalidInput(f"{what} must be a finite decimal number")
    return format(number, "f")  # "1e3" is stored as "1000", never "1E+3"


def order_identities(customer: OrderCustomer) -> list[tuple[str, str]]:
    """The (channel, address) pairs the order's customer fields name; InvalidInput when one
    is malformed."""
    pairs: list[tuple[str, str]] = []
    if customer.telegram_id:
        if not TELEGRAM_ID.fullmatch(str(customer.telegram_id).strip()):
            raise InvalidInput("customer.telegram_id must be a Telegram user id (digits)")
        pairs.append((Channel.TELEGRAM.value, str(customer.telegram_id).strip()))
    if customer.phone:
        phone = normalise_phone(customer.phone)
        if phone is None:
            raise InvalidInput(f"customer.phone {customer.phone!r} is not a phone number")
        pairs += [(Channel.WHATSAPP.value, phone), (Channel.SMS.value, phone)]
    if customer.email:
        email = normalise_email(customer.email)
        if email is None:
            raise InvalidInput(f"customer.email {customer.email!r} is not an email address")
        pairs.append((Channel.EMAIL.value, email))
    return pairs


async def resolve_order_customer(session: AsyncSession, fields: OrderCustomer) -> Customer:
    """The customer these fields name; several matches are one person and get merged.

    The shop's authenticated API is proof (SPEC §6); an address someone only claimed is
    not an owner here: proof takes it over and the claimant keeps a suggested merge."""
    pairs = order_identities(fields)
    if not pairs:
        raise InvalidInput("customer needs at least one of phone, email, telegram_id")
    known = await find_identities(session, pairs)
    owners = sorted({i.customer_id for i in known.values() if i.verified})
    if owners:
        customer = await get_customer(session, owners[0])
    else:
        customer = new_customer(fields.name, None)
        session.add(customer)
        await session.flush()
    for channel, address in pairs:
        mine = known.get((channel, address))
        if mine is not None and mine.verified and mine.customer_id == customer.id:
            continue  # already theirs, proven: the usual case, no second look-up
        customer = await do_link_identity(session, customer, channel, address, rule="orders API")
    if fields.name and not customer.name:
        customer.name = fields.name.strip()[:200]
    return customer


async def do_upsert_order(session: AsyncSession, data: OrderInput) -> tuple[Order, bool, bool]:
    """Returns (order, created, status_changed)."""
    if not data.number.strip() or not data.status.strip():
        raise InvalidInput("number and status must not be empty")
    customer = await resolve_order_customer(session, data.customer)
    order = await session.scalar(select(Order).where(col(Order.number) == data.number))
    now = utcnow()
    created = order is None
    if order is None:
        order = Order(number=data.number, customer_id=customer.id, status=data.status)  # type: ignore[arg-type]
        session.add(order)
    changed = created or order.status != data.status
    order.customer_id = customer.id  # type: ignore[assignment]
    order.status = data.status
    if data.items is not None:
        order.items = data.items
    if data.total is not None:
        order.total = data.total
    if data.currency is not None:
        order.currency = data.currency.upper()
    if data.tracking_url is not None:
        order.tracking_url = data.tracking_url or None
    if data.pickup_point is not None:
        order.pickup_point = data.pickup_point.strip() or None
    order.updated_at = now
    await session.flush()
    if changed:
        session.add(OrderStatusChange(order_id=order.id, status=data.status, at=now))  # type: ignore[arg-type]
        await session.flush()
    return order, created, changed


async def get_order(session: AsyncSession, number: str) -> Order:
    order = await session.scalar(select(Order).where(col(Order.number) == number))
    if order is None:
        raise NotFound(f"order {number} not found")
    return order
