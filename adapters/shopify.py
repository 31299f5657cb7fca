"""Shopify's order feed: `POST /webhooks/shopify`, verified, translated (pure, no I/O).

Topics: `orders/create`, `orders/updated`, `orders/cancelled` (the whole order) and
`fulfillments/create`, `fulfillments/update` (one shipment; its `order_id` names the order).
Any other topic is answered 200 and ignored, so a shop subscribing too much never sees its
hook disabled. `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body with the
app's (or the admin's webhook) secret; `X-Shopify-Webhook-Id` is repeated by retries.

Status mapping (first rule that holds):
- `cancelled_at` set, or `financial_status` `voided` → `cancelled`
- `financial_status` `refunded`: `returned` when something had shipped, else `cancelled`
- `fulfillment_status` `restocked` → `returned`
- `fulfillment_status` `fulfilled` or `partial` → from the latest successful fulfillment's
  `shipment_status`: `delivered`/`picked_up` → `delivered`; `in_transit`,
  `out_for_delivery`, `attempted_delivery` → `in_transit`; `ready_for_pickup` →
  `ready_for_pickup`; anything else → `shipped`
- `financial_status` `paid`, `partially_paid`, `partially_refunded` → `processing`
- otherwise (`pending`, `authorized`, none) → `created`
A fulfillment event maps its own `shipment_status` the same way when its `status` is
`success`; a pending, cancelled or failed fulfillment leaves the order's status alone.

Customer: `email` (else `contact_email`, `customer.email`); phone: `phone` (else
`customer.phone`, `billing_address.phone`), read with the billing country for national
numbers; the shipping address's phone is the recipient's, never taken as the buyer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters import order_fields as fields
from hub.domain.feeds import FeedDelivery, FeedKind, FeedOrder
from hub.domain.ports import WebhookRequest

SOURCE = "shopify"
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})
FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})

_SHIPMENT = {
    "delivered": "delivered",
    "picked_up": "delivered",
    "in_transit": "in_transit",
    "out_for_delivery": "in_transit",
    "attempted_delivery": "in_transit",
    "ready_for_pickup": "ready_for_pickup",
}


def shipment_status(fulfillment: Mapping[str, Any]) -> str:
    shipment = fulfillment.get("shipment_status")
    return _SHIPMENT.get(shipment, "shipped") if isinstance(shipment, str) else "shipped"


def _shipped(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = data.get("fulfillments")
    if not isinstance(found, list):
        return []
    return [f for f in found if isinstance(f, dict) and f.get("status") == "success"]


def order_status(data: Mapping[str, Any]) -> str:
    financial = data.get("financial_status")
    fulfillment = data.get("fulfillment_status")
    shipped = _shipped(data)
    if data.get("cancelled_at") or financial == "voided":
        return "cancelled"
    if financial == "refunded":
        return "returned" if shipped or fulfillment in ("fulfilled", "partial") else "cancelled"
    if fulfillment == "restocked":
        return "returned"
    if fulfillment in ("fulfilled", "partial"):
        return shipment_status(shipped[-1]) if shipped else "shipped"
    if financial in ("paid", "partially_paid", "partially_refunded"):
        return "processing"
    return "created"


def tracking_url(fulfillment: Mapping[str, Any]) -> str | None:
    urls = fulfillment.get("tracking_urls")
    candidates = [fulfillment.get("tracking_url"), *(urls if isinstance(urls, list) else [])]
    return next((url for c in candidates if (url := fields.web_url(c))), None)


def parse_order(data: Mapping[str, Any]) -> FeedOrder | None:
    """The order as the hub keeps it; None when no email or phone reaches its customer
    (a point-of-sale order without one, say): nothing for the hub to answer or tell."""
    customer = fields.object_at(data, "customer")
    billing = fields.object_at(data, "billing_address")
    email = fields.email(data.get("email"), data.get("contact_email"), customer.get("email"))
    phone = fields.phone(
        billing.get("country_code"), data.get("phone"), customer.get("phone"), billing.get("phone")
    )
    number = fields.order_number(data.get("name"), data.get("order_number"))
    order_id = fields.source_id(data.get("id"), "id")
    if email is None and phone is None:
        return None
    shipped = _shipped(data)
    return FeedOrder(
        source=SOURCE,
        source_id=order_id,
        number=number,
        status=order_status(data),
        name=fields.full_name(
            customer.get("first_name"), customer.get("last_name"), billing.get("name")
        ),
        email=email,
        phone=phone,
        items=fields.items(data.get("line_items"), name_keys=("name", "title")),
        total=fields.decimal_text(data.get("total_price")),
        currency=fields.currency(data.get("currency")),
        tracking_url=tracking_url(shipped[-1]) if shipped else None,
        updated_at=fields.timestamp(data.get("updated_at")),
    )


def parse_fulfillment(data: Mapping[str, Any]) -> FeedOrder:
    status = shipment_status(data) if data.get("status") == "success" else None
    return FeedOrder(
        source=SOURCE,
        source_id=fields.source_id(data.get("order_id"), "order_id"),
        kind=FeedKind.FULFILLMENT,
        status=status,
        tracking_url=tracking_url(data),
        updated_at=fields.timestamp(data.get("updated_at")),
    )


class ShopifyWebhook:
    """The feed adapter (hub.domain.ports.FeedWebhook)."""

    name = SOURCE
    content_type: str | None = "application/json"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def verify(self, request: WebhookRequest) -> bool:
        header = request.headers.get("X-Shopify-Hmac-Sha256")
        return fields.signature_matches(self._secret, request.body, header)

    def parse(self, request: WebhookRequest) -> FeedDelivery | None:
        topic = (request.headers.get("X-Shopify-Topic") or "").strip().lower()
        if topic not in ORDER_TOPICS | FULFILLMENT_TOPICS:
            return None
        data = fields.body_object(request.body)
        order = parse_order(data) if topic in ORDER_TOPICS else parse_fulfillment(data)
        if order is None:
            return None
        header = request.headers.get("X-Shopify-Webhook-Id")
        delivery = fields.delivery_id(header, topic, request.body)
        shop = fields.text(request.headers.get("X-Shopify-Shop-Domain"), 255)
        return FeedDelivery(delivery, order, topic, {"shop": shop} if shop else {})
