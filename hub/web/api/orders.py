"""Order views: the shop pushes orders and status changes by number."""

from __future__ import annotations

from typing import Any

from hub.actions.notifications import Notice
from hub.actions.order_puts import NoticeRules, OrderPut, OrderPuts
from hub.actions.orders import (
    OrderCustomer,
    OrderInput,
    decimal_string,
    get_order,
    order_identities,
)
from hub.errors import HubError, InvalidInput, NotFound
from hub.queries.customers import order_history
from hub.runtime.services import Hub
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
from hub.web.keys import ORDER_PUTS

MAX_NUMBER_CHARS = PATH_PARAMS["number"]["maxLength"]


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


def order_puts(hub: Hub) -> OrderPuts:
    """The process's batched writer of PUT /orders, telling on the channels it can send on."""

    def rules() -> NoticeRules:
        return NoticeRules(set(hub.channels.senders), hub.settings.whatsapp_templates)

    return OrderPuts(hub.db, hub.queue, hub.broker, rules)


async def put_order(call: Call) -> Reply:
    """201 when the order is new, 200 when it existed. With `notify`, a new order or a
    status change tells the customer on their preferred channel (once per status), and the
    answer's `notification` says what was queued where, or why nothing was.

    The PUTs that arrive together are written together (hub.actions.order_puts); each
    answer waits for its own change to be committed."""
    body = call.body_as(OrderBody)
    data = _order_input(_number(call, InvalidInput), body)
    if not data.status:
        raise InvalidInput("number and status must not be empty")
    if not order_identities(data.customer):
        raise InvalidInput("customer needs at least one of phone, email, telegram_id")
    result = await call.request.app[ORDER_PUTS].put(OrderPut(data, body.notify))
    out = serialize.order(result.order, result.history)
    notice = result.notice
    answer = OrderPutOut.model_validate(
        {
            **out.model_dump(),
            "notification": None if notice is None else _notification(notice),
        }
    )
    return Reply(answer, 201 if result.created else 200)


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
