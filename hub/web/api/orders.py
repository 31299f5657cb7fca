"""Order views: the shop pushes orders and status changes by number."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from hub.actions.notifications import Notice, NoticeReason, notify_order_status
from hub.actions.orders import OrderCustomer, OrderInput, decimal_string, do_upsert_order, get_order
from hub.actions.unit import unit_of_work
from hub.errors import Conflict, HubError, InvalidInput, NotFound
from hub.queries.customers import order_history
from hub.web.api import serialize
from hub.web.api.calls import Call, Reply
from hub.web.api.schemas import (
    NotificationOut,
    OrderBody,
    OrderItemBody,
    OrderOut,
    OrderPutOut,
)
from hub.web.api.spec import PATH_PARAMS, ApiRoute

MAX_NUMBER_CHARS = PATH_PARAMS["number"]["maxLength"]
UPSERT_ATTEMPTS = 3


def _number(call: Call, missing: type[HubError]) -> str:
    number = call.text_param("number")
    if not number.strip() or len(number) > MAX_NUMBER_CHARS:
        raise missing(f"an order number is 1-{MAX_NUMBER_CHARS} characters")
    return number


def _item(index: int, item: OrderItemBody) -> dict[str, Any]:
    """An item as stored: given fields only (extra ones kept), the price a decimal string."""
    data = item.model_dump(mode="json", exclude_none=True)
    price = decimal_string(item.price, f"items[{index}].price")
    if price is not None:
        data["price"] = price
    return data


def _order_input(number: str, body: OrderBody) -> OrderInput:
    items = None if body.items is None else [_item(i, x) for i, x in enumerate(body.items)]
    customer = body.customer
    return OrderInput(
        number=number,
        status=body.status.strip(),
        customer=OrderCustomer(
            name=customer.name,
            phone=customer.phone,
            email=customer.email,
            telegram_id=None if customer.telegram_id is None else str(customer.telegram_id),
        ),
        items=items,
        total=decimal_string(body.total, "total"),
        currency=body.currency,
        tracking_url=body.tracking_url,
        pickup_point=body.pickup_point,
    )


def _notification(notice: Notice) -> NotificationOut:
    return NotificationOut.model_validate(
        {"queued": notice.queued, "channel": notice.channel, "reason": notice.reason}
    )


async def _upsert(
    call: Call, data: OrderInput, notify: bool, in_turn: bool
) -> tuple[OrderPutOut, bool]:
    """`in_turn`: in the process's write turn, as the order feeds' upserts are. Not at
    first: concurrent PUTs would wait for each other's ~20 statements. But the upsert reads,
    then writes, and on SQLite another writer committing in between fails the write ("database
    is locked", SQLITE_BUSY_SNAPSHOT): 3 of 500 PUTs in bench/replies.py and 7 of 600
    concurrent ones in process answered 500 before. `put_order` retries such a PUT in the
    turn (4 of 600 needed it), where no writer of this process comes in between."""
    db = call.hub.db
    async with contextlib.AsyncExitStack() as stack:
        if in_turn:
            await stack.enter_async_context(db.writing())
        session = await stack.enter_async_context(unit_of_work(db, call.hub.queue, call.hub.broker))
        order, created, changed = await do_upsert_order(session, data)
        assert order.id is not None
        notice: Notice | None = None
        if notify and changed:  # a new order's first status is a change too (SPEC §5)
            notice = await notify_order_status(
                session,
                order,
                enabled=set(call.hub.channels.senders),
                whatsapp_templates=call.hub.settings.whatsapp_templates,
            )
        elif notify:
            notice = Notice(reason=NoticeReason.SAME_STATUS)
        history = await order_history(session, [order.id])
    out = serialize.order(order, history[order.id])
    answer = OrderPutOut.model_validate(
        {
            **out.model_dump(),
            "notification": None if notice is None else _notification(notice),
        }
    )
    return answer, created


async def put_order(call: Call) -> Reply:
    """201 when the order is new, 200 when it existed. With `notify`, a new order or a
    status change tells the customer on their preferred channel (once per status), and the
    answer's `notification` says what was queued where, or why nothing was."""
    body = call.body_as(OrderBody)
    data = _order_input(_number(call, InvalidInput), body)
    in_turn = False
    for _ in range(UPSERT_ATTEMPTS):
        try:
            answer, created = await _upsert(call, data, body.notify, in_turn)
        except IntegrityError:
            # Two pushes of one new order (or new customer) raced to insert it; the loser
            # tries again and now finds the row the winner stored.
            continue
        except OperationalError as exc:
            if not (call.hub.db.is_sqlite and "locked" in str(exc.orig)):
                raise
            # Another writer committed between the upsert's read and its write: again, in
            # the write turn, where no writer of this process can come in between.
            in_turn = True
            continue
        return Reply(answer, 201 if created else 200)
    raise Conflict("the order changed concurrently, try again")


async def show_order(call: Call) -> OrderOut:
    async with call.hub.db.session() as session:
        order = await get_order(session, _number(call, NotFound))
        assert order.id is not None
        history = await order_history(session, [order.id])
    return serialize.order(order, history[order.id])


_TAGS = ("orders",)
ROUTES = [
    ApiRoute(
        "PUT",
        "/orders/{number}",
        put_order,
        "Create or update an order by its number (201 created, 200 updated); with notify, "
        "the customer hears of a new order or a status change",
        OrderPutOut,
        status=201,
        also=(200,),
        body=OrderBody,
        errors=(409,),
        tags=_TAGS,
    ),
    ApiRoute(
        "GET",
        "/orders/{number}",
        show_order,
        "An order with its status history, oldest first",
        OrderOut,
        tags=_TAGS,
    ),
]
