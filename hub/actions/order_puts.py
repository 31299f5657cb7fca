"""`PUT /orders` at the speed of ingest: the PUTs that arrive together are planned and
written together, in one write turn and one transaction, like the webhooks' group commit
(hub.queue.group_commit); each caller hears its own answer once the batch is committed.

A batch is read in three statements (the identities its customer fields name, its orders,
their customers). A PUT whose customer fields all name proven identities of one customer
takes the lean path: its order inserted or updated, its history and notice written by Core
executemany for the whole run of such PUTs (`notify_orders`). Anything else (a new
customer, an address to link or take over, a merged customer, an order number a second time
in the batch) goes the way of a single PUT (`do_upsert_order`, `notify_order_status`), in the
same transaction and in arrival order; what follows it is read again.

"Each once": within the process one batch is written at a time and a number seen twice
splits the run, so the second PUT of an order sees what the first stored. Between processes
(PostgreSQL) the notices' unique (order, status) holds: the losing batch is written again,
and finds the order told. A batch that fails for any other reason is written again a PUT at
a time, so that one bad PUT answers its own error and the others their result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import metrics
from hub.actions.notifications import (
    Notice,
    NoticeReason,
    insert_ids,
    notify_order_status,
    notify_orders,
)
from hub.actions.orders import OrderInput, do_upsert_order, order_identities
from hub.actions.unit import unit_of_work
from hub.batcher import Batcher
from hub.db import Database
from hub.domain.types import Channel
from hub.errors import Conflict, InvalidInput
from hub.models import Customer, Identity, Order, OrderStatusChange
from hub.models.base import utcnow
from hub.queue.port import QueueBackend
from hub.realtime import Broker

_ORDERS = Order.__table__  # type: ignore[attr-defined]
_HISTORY = OrderStatusChange.__table__  # type: ignore[attr-defined]
_IDENTITIES = Identity.__table__  # type: ignore[attr-defined]
_CUSTOMERS = Customer.__table__  # type: ignore[attr-defined]
# PUTs a write turn at most: the turn is shared with the webhooks' acks and the router
# (bench/notices_inprocess.py prints how long the turns were held).
BATCH = 64
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class OrderPut:
    data: OrderInput
    notify: bool


@dataclass(frozen=True, slots=True)
class OrderPutResult:
    order: Order  # as stored (not attached to a session)
    history: list[OrderStatusChange]
    created: bool
    notice: Notice | None  # None without notify


@dataclass(frozen=True, slots=True)
class NoticeRules:
    enabled: Collection[Channel]
    whatsapp_templates: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Lean:
    put: OrderPut
    customer: Customer
    order: dict[str, Any] | None  # the stored row, None for a new order


async def _classify(session: AsyncSession, puts: Sequence[OrderPut]) -> list[_Lean | None]:
    """Per PUT, what the lean path needs, or None where it must go the single way."""
    pairs = []
    for put in puts:
        try:
            pairs.append(order_identities(put.data.customer))
        except InvalidInput:
            pairs.append([])  # the single way answers the error
    addresses = {address for mine in pairs for _, address in mine}
    identities: dict[tuple[str, str], tuple[int, bool]] = {}
    if addresses:
        rows = await session.execute(
            select(
                _IDENTITIES.c.channel,
                _IDENTITIES.c.address,
                _IDENTITIES.c.customer_id,
                _IDENTITIES.c.verified,
            ).where(_IDENTITIES.c.address.in_(addresses))
        )
        identities = {(ch, address): (owner, bool(ok)) for ch, address, owner, ok in rows}
    owners: list[int | None] = []
    for mine in pairs:
        found = {identities.get(pair) for pair in mine}
        owner = next(iter(found)) if len(found) == 1 else None
        owners.append(owner[0] if owner is not None and owner[1] else None)
    customers: dict[int, Customer] = {}
    ids = {owner for owner in owners if owner is not None}
    if ids:
        rows = await session.execute(select(_CUSTOMERS).where(_CUSTOMERS.c.id.in_(ids)))
        customers = {row.id: Customer(**row._asdict()) for row in rows}
    numbers = {put.data.number for put in puts}
    rows = await session.execute(select(_ORDERS).where(_ORDERS.c.number.in_(numbers)))
    orders = {row.number: row._asdict() for row in rows}
    out: list[_Lean | None] = []
    for put, owner_id in zip(puts, owners, strict=True):
        customer = None if owner_id is None else customers.get(owner_id)
        blank = not put.data.number.strip() or not put.data.status.strip()
        if customer is None or customer.merged_into_id is not None or blank:
            out.append(None)
        else:
            out.append(_Lean(put, customer, orders.get(put.data.number)))
    return out


def _stored(
    data: OrderInput, customer_id: int, row: dict[str, Any] | None, now: Any
) -> dict[str, Any]:
    """The order's columns after this PUT (`do_upsert_order`'s rules)."""
    values = (
        dict(row)
        if row is not None
        else {
            "number": data.number,
            "items": [],
            "total": None,
            "currency": None,
            "tracking_url": None,
            "pickup_point": None,
            "created_at": now,
        }
    )
    values["customer_id"] = customer_id
    values["status"] = data.status
    if data.items is not None:
        values["items"] = data.items
    if data.total is not None:
        values["total"] = data.total
    if data.currency is not None:
        values["currency"] = data.currency.upper()
    if data.tracking_url is not None:
        values["tracking_url"] = data.tracking_url or None
    if data.pickup_point is not None:
        values["pickup_point"] = data.pickup_point.strip() or None
    values["updated_at"] = now
    return values


_UPDATED = (
    "customer_id",
    "status",
    "items",
    "total",
    "currency",
    "tracking_url",
    "pickup_point",
    "updated_at",
)


async def _write_lean(
    session: AsyncSession, run: list[_Lean], rules: NoticeRules
) -> list[OrderPutResult]:
    """A run of lean PUTs (distinct numbers): a statement per kind of write for all."""
    now = utcnow()
    values = [_stored(x.put.data, x.customer.id, x.order, now) for x in run]  # type: ignore[arg-type]
    new = [i for i, x in enumerate(run) if x.order is None]
    if new:
        rows = [{k: v for k, v in values[i].items() if k != "id"} for i in new]
        for i, order_id in zip(new, await insert_ids(session, _ORDERS, rows), strict=True):
            values[i]["id"] = order_id
    old = [i for i, x in enumerate(run) if x.order is not None]
    if old:
        await session.execute(
            update(_ORDERS)
            .where(_ORDERS.c.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}") for k in _UPDATED}),
            [{"b_id": values[i]["id"], **{f"b_{k}": values[i][k] for k in _UPDATED}} for i in old],
        )
    changed = [x.order is None or x.order["status"] != x.put.data.status for x in run]
    if any(changed):
        await session.execute(
            insert(_HISTORY),
            [
                {"order_id": values[i]["id"], "status": values[i]["status"], "at": now}
                for i in range(len(run))
                if changed[i]
            ],
        )
    named = [
        {"b_id": x.customer.id, "b_name": x.put.data.customer.name.strip()[:200]}
        for x in run
        if x.put.data.customer.name and x.put.data.customer.name.strip() and not x.customer.name
    ]
    if named:
        await session.execute(
            update(_CUSTOMERS)
            .where(_CUSTOMERS.c.id == bindparam("b_id"), _CUSTOMERS.c.name.is_(None))
            .values(name=bindparam("b_name")),
            named,
        )
    orders = [Order(**v) for v in values]
    notices: list[Notice | None] = [
        None
        if not x.put.notify
        else (None if changed[i] else Notice(reason=NoticeReason.SAME_STATUS))
        for i, x in enumerate(run)
    ]
    told = [i for i, x in enumerate(run) if x.put.notify and changed[i]]
    if told:
        customers = {x.customer.id: x.customer for x in run}
        got = await notify_orders(
            session,
            [orders[i] for i in told],
            customers,  # type: ignore[arg-type]
            enabled=rules.enabled,
            whatsapp_templates=rules.whatsapp_templates,
        )
        for i, notice in zip(told, got, strict=True):
            notices[i] = notice
    history = await _histories(session, [o.id for o in orders])  # type: ignore[misc]
    return [
        OrderPutResult(order, history[order.id], x.order is None, notice)  # type: ignore[index]
        for order, x, notice in zip(orders, run, notices, strict=True)
    ]


async def _histories(session: AsyncSession, ids: list[int]) -> dict[int, list[OrderStatusChange]]:
    """`order_history` by Core: copies no later `expire_all` of the session reaches."""
    out: dict[int, list[OrderStatusChange]] = {i: [] for i in ids}
    rows = await session.execute(
        select(_HISTORY).where(_HISTORY.c.order_id.in_(ids)).order_by(_HISTORY.c.id)
    )
    for row in rows:
        out[row.order_id].append(OrderStatusChange(**row._asdict()))
    return out


async def _write_single(session: AsyncSession, put: OrderPut, rules: NoticeRules) -> OrderPutResult:
    """One PUT the ORM way: new customers, links, take-overs, merges."""
    order, created, changed = await do_upsert_order(session, put.data)
    assert order.id is not None
    notice: Notice | None = None
    if put.notify and changed:  # a new order's first status is a change too (SPEC §5)
        notice = await notify_order_status(
            session, order, enabled=rules.enabled, whatsapp_templates=rules.whatsapp_templates
        )
    elif put.notify:
        notice = Notice(reason=NoticeReason.SAME_STATUS)
    history = await _histories(session, [order.id])
    # A copy: the ORM's own object is expired by a later lean run of the batch.
    return OrderPutResult(Order(**order.model_dump()), history[order.id], created, notice)


async def write_puts(
    session: AsyncSession, puts: Sequence[OrderPut], rules: NoticeRules
) -> list[OrderPutResult]:
    """The batch's changes in `session`, in arrival order; the caller commits."""
    results: list[OrderPutResult] = []
    while len(results) < len(puts):
        start = len(results)
        plan = await _classify(session, puts[start:])
        run: list[_Lean] = []
        numbers: set[str] = set()
        for lean in plan:
            if lean is None or lean.put.data.number in numbers:
                break
            numbers.add(lean.put.data.number)
            run.append(lean)
        if run:
            results += await _write_lean(session, run, rules)
            session.expire_all()  # the ORM's copies of what Core just wrote are stale
            continue
        # Single PUTs up to the next one that looked lean (which is read again): a PUT
        # judged single on what was read before is still right to go the single way.
        for lean in plan:
            if lean is not None and len(results) > start:
                break
            results.append(await _write_single(session, puts[len(results)], rules))
    return results


def _retry(exc: Exception, db: Database) -> bool:
    """A write another writer got in the way of: the same PUTs again will do."""
    if isinstance(exc, IntegrityError):
        return True  # two new orders or customers raced, or a notice told elsewhere
    return isinstance(exc, OperationalError) and db.is_sqlite and "locked" in str(exc.orig)


class OrderPuts:
    """The process's writer of `PUT /orders`: one batch at a time, each in one write turn."""

    def __init__(
        self,
        db: Database,
        queue: QueueBackend,
        broker: Broker,
        rules: Callable[[], NoticeRules],
    ) -> None:
        self._db, self._queue, self._broker, self._rules = db, queue, broker, rules
        # A batch still failing after its retries is written a PUT at a time: one bad PUT
        # answers its own error, the others their result.
        self._batcher: Batcher[OrderPut, OrderPutResult] = Batcher(
            "order_puts", self._write, max_batch=BATCH, failure=self._failure
        )
        self._turns = metrics.write_turn_seconds.labels("order_puts")

    async def put(self, put: OrderPut) -> OrderPutResult:
        """The PUT's result once its batch is committed."""
        return await self._batcher.submit(put)

    async def close(self) -> None:
        """Let the PUTs already taken hear whether they were written."""
        await self._batcher.close()

    async def _attempt(self, puts: Sequence[OrderPut]) -> list[OrderPutResult]:
        """One transaction in the write turn: on SQLite no writer of this process comes
        between the batch's reads and its writes ("database is locked" never reaches a
        caller); another process's commit in between is retried by `_write`."""
        async with self._db.writing():
            with self._turns.time():
                async with unit_of_work(self._db, self._queue, self._broker) as session:
                    return await write_puts(session, puts, self._rules())

    async def _write(self, puts: list[OrderPut]) -> list[OrderPutResult]:
        for _ in range(ATTEMPTS - 1):
            try:
                return await self._attempt(puts)
            except Exception as exc:
                if not _retry(exc, self._db):
                    raise
        return await self._attempt(puts)

    def _failure(self, exc: Exception) -> Exception:
        """What a PUT that failed alone answers: a race lost every time is a conflict."""
        if _retry(exc, self._db):
            return Conflict("the order changed concurrently, try again")
        return exc
