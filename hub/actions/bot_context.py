"""What a bot sees of the hub for one customer message (the `BotContext` port), read from
this database with no lock held; what it says is recorded, stored later by the runner."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.bots import BotConversation, BotCustomer, BotOrder, BotStatusChange, BotText
from hub.domain.notes import Note
from hub.models import Order, OrderStatusChange
from hub.models.tables import core_table
from hub.queries.customers import order_history


async def load_bot_orders(
    session: AsyncSession, customer_id: int, number: str | None = None
) -> list[BotOrder]:
    """The customer's orders (only theirs), most recently updated first."""
    query = select(Order).where(col(Order.customer_id) == customer_id)
    if number is not None:
        query = query.where(col(Order.number) == number)
    rows = list(
        await session.scalars(query.order_by(col(Order.updated_at).desc(), col(Order.id).desc()))
    )
    history = await order_history(session, [o.id for o in rows if o.id is not None])
    return [bot_order(o, history.get(o.id or 0, [])) for o in rows]


_ORDERS = core_table(Order)
_HISTORY = core_table(OrderStatusChange)


async def load_orders_of(
    session: AsyncSession, customer_ids: Iterable[int]
) -> dict[int, list[BotOrder]]:
    """Every order of these customers with its history, in one Core read (an outer join,
    no model built per row), each customer's list ordered as `load_bot_orders`: the bot
    runner reads a whole batch's orders at once, not per turn."""
    ids = sorted(set(customer_ids))
    found: dict[int, list[BotOrder]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(
            _ORDERS.c.id,
            _ORDERS.c.customer_id,
            _ORDERS.c.number,
            _ORDERS.c.status,
            _ORDERS.c.tracking_url,
            _ORDERS.c.updated_at,
            _ORDERS.c.pickup_point,
            _HISTORY.c.status,
            _HISTORY.c.at,
        )
        .select_from(_ORDERS.outerjoin(_HISTORY, _HISTORY.c.order_id == _ORDERS.c.id))
        .where(_ORDERS.c.customer_id.in_(ids))
        .order_by(_ORDERS.c.updated_at.desc(), _ORDERS.c.id.desc(), _HISTORY.c.id)
    )
    orders: dict[int, tuple[Any, list[BotStatusChange]]] = {}
    for row in rows:
        oid, changed_to, at = row[0], row[7], row[8]
        if oid not in orders:
            orders[oid] = (row, [])
        if changed_to is not None:
            orders[oid][1].append(BotStatusChange(changed_to, at))
    for row, history in orders.values():
        found[int(row[1])].append(
            BotOrder(
                number=row[2],
                status=row[3],
                tracking_url=row[4],
                updated_at=row[5],
                history=tuple(history),
                pickup_point=row[6],
            )
        )
    return found


def bot_order(order: Order, history: Iterable[OrderStatusChange] = ()) -> BotOrder:
    """An order as bots and message templates see it (`hub.domain.bots.order_view`)."""
    return BotOrder(
        number=order.number,
        status=order.status,
        tracking_url=order.tracking_url,
        updated_at=order.updated_at,
        history=tuple(BotStatusChange(c.status, c.at) for c in history),
        pickup_point=order.pickup_point,
    )


@dataclass
class Turn:
    """A `BotContext` for one customer message: reads this customer's data, records acts."""

    session: AsyncSession
    text: str
    customer: BotCustomer
    conversation: BotConversation
    # False for a web chat visitor linked to the customer by an unproven claim (identify
    # without the shop's identity_hash): they see no order, as if the customer had none.
    sees_orders: bool = True
    acts: list[tuple[BotText, str | Note]] = field(default_factory=list)
    handed_off: bool = False
    labels: list[str] = field(default_factory=list)
    # The customer's orders when the runner read them with the rest of its batch
    # (`load_orders_of`); None: read them here when a bot asks.
    known_orders: list[BotOrder] | None = None

    async def orders(self) -> list[BotOrder]:
        if not self.sees_orders:
            return []
        if self.known_orders is not None:
            return list(self.known_orders)
        return await load_bot_orders(self.session, self.customer.id)

    async def order(self, number: str) -> BotOrder | None:
        if not self.sees_orders:
            return None
        if self.known_orders is not None:
            wanted = number.strip()
            return next((o for o in self.known_orders if o.number == wanted), None)
        found = await load_bot_orders(self.session, self.customer.id, number.strip())
        return found[0] if found else None

    async def reply(self, text: BotText, note: str | Note) -> None:
        self.acts.append((text, note))

    async def handoff(self, text: BotText, note: str | Note) -> None:
        self.acts.append((text, note))
        self.handed_off = True

    async def label(self, name: str) -> None:
        if name.strip() and name.strip()[:64] not in self.labels:
            self.labels.append(name.strip()[:64])
