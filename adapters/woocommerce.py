"""WooCommerce's order feed: `POST /webhooks/woocommerce`, verified, translated (pure).

Topics `order.created`, `order.updated` (the order as the REST API v3 shows it) and
`order.deleted` (`{"id": N}` only); others are answered 200 and ignored.
`X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of the raw body with the webhook's
secret; `X-WC-Webhook-Delivery-ID` names the delivery. When a webhook is saved, WooCommerce
first posts an unsigned form `webhook_id=N` and activates the hook only on a 200: that
ping is answered 200 and stores nothing.

Status mapping: `pending`, `on-hold` → `created` (awaiting payment); `processing` →
`processing`; `completed` → `shipped` (WooCommerce's last step is handing the parcel over);
`cancelled`, `failed` → `cancelled`; `refunded` → `returned` when the order had been
completed, else `cancelled`; `checkout-draft` (a cart, not yet an order) is ignored; the
statuses of common shipping plugins (`shipped`, `in-transit`, `delivered`,
`ready-for-pickup`, `returned`) map onto the hub's of that name; any other status of the
shop's own is stored as it is. `order.deleted` marks the hub's order `cancelled` (the
hub keeps its history) without telling the customer.

Customer: billing email and phone (a national phone read with the billing country), name
from billing first and last name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters import order_fields as fields
from hub.domain.feeds import FeedDelivery, FeedKind, FeedOrder
from hub.domain.ports import WebhookRequest

SOURCE = "woocommerce"
TOPICS = frozenset({"order.created", "order.updated", "order.deleted"})
_PING = re.compile(rb"webhook_id=[0-9]{1,20}")
_OWN_STATUS = re.compile(r"[a-z0-9_-]{1,64}")

_STATUSES = {
    "pending": "created",
    "on-hold": "created",
    "processing": "processing",
    "completed": "shipped",
    "cancelled": "cancelled",
    "failed": "cancelled",
    "shipped": "shipped",
    "in-transit": "in_transit",
    "delivered": "delivered",
    "ready-for-pickup": "ready_for_pickup",
    "returned": "returned",
}
_DRAFTS = frozenset({"checkout-draft", "draft", "auto-draft", "trash"})


def order_status(data: Mapping[str, Any]) -> str | None:
    """The hub's status; None for a draft, which is no order yet."""
    status = fields.text(data.get("status"), 80)
    status = (status or "pending").lower().removeprefix("wc-")
    if status in _DRAFTS:
        return None
    if status == "refunded":
        return "returned" if data.get("date_completed") else "cancelled"
    if status in _STATUSES:
        return _STATUSES[status]
    return status.replace("-", "_") if _OWN_STATUS.fullmatch(status) else "processing"


def _tracking_url(data: Mapping[str, Any]) -> str | None:
    """The link the WooCommerce Shipment Tracking extension stores in the order's meta."""
    meta = data.get("meta_data")
    for entry in meta if isinstance(meta, list) else []:
        if not isinstance(entry, dict) or entry.get("key") != "_wc_shipment_tracking_items":
            continue
        shipments = entry.get("value")
        for shipment in reversed(shipments) if isinstance(shipments, list) else []:
            if isinstance(shipment, dict):
                url = fields.web_url(shipment.get("custom_tracking_link"))
                if url:
                    return url
    return None


def parse_order(data: Mapping[str, Any]) -> FeedOrder | None:
    order_id = fields.source_id(data.get("id"), "id")
    number = fields.order_number(data.get("number"), order_id)
    billing = fields.object_at(data, "billing")
    email = fields.email(billing.get("email"))
    phone = fields.phone(billing.get("country"), billing.get("phone"))
    status = order_status(data)
    if status is None or (email is None and phone is None):
        return None
    return FeedOrder(
        source=SOURCE,
        source_id=order_id,
        number=number,
        status=status,
        name=fields.full_name(billing.get("first_name"), billing.get("last_name")),
        email=email,
        phone=phone,
        items=fields.items(data.get("line_items"), name_keys=("name",)),
        total=fields.decimal_text(data.get("total")),
        currency=fields.currency(data.get("currency")),
        tracking_url=_tracking_url(data),
        updated_at=fields.timestamp(data.get("date_modified_gmt"), naive_is_utc=True),
    )


class WooCommerceWebhook:
    """The feed adapter (hub.domain.ports.FeedWebhook)."""

    name = SOURCE
    content_type: str | None = None  # JSON deliveries, and the form-encoded ping

    def __init__(self, secret: str) -> None:
        self._secret = secret

    @staticmethod
    def is_ping(request: WebhookRequest) -> bool:
        return (
            "X-WC-Webhook-Signature" not in request.headers
            and request.content_type == "application/x-www-form-urlencoded"
            and _PING.fullmatch(request.body.strip()) is not None
        )

    def verify(self, request: WebhookRequest) -> bool:
        if self.is_ping(request):
            return True  # carries nothing and stores nothing: WooCommerce needs its 200
        header = request.headers.get("X-WC-Webhook-Signature")
        return fields.signature_matches(self._secret, request.body, header)

    def parse(self, request: WebhookRequest) -> FeedDelivery | None:
        if self.is_ping(request):
            return None
        topic = (request.headers.get("X-WC-Webhook-Topic") or "").strip().lower()
        if topic not in TOPICS:
            return None
        data = fields.body_object(request.body)
        order: FeedOrder | None
        if topic == "order.deleted":
            order = FeedOrder(
                source=SOURCE,
                source_id=fields.source_id(data.get("id"), "id"),
                kind=FeedKind.DELETED,
                status="cancelled",
            )
        else:
            order = parse_order(data)
        if order is None:
            return None
        header = request.headers.get("X-WC-Webhook-Delivery-ID")
        delivery = fields.delivery_id(header, topic, request.body)
        source = fields.text(request.headers.get("X-WC-Webhook-Source"), 255)
        return FeedDelivery(delivery, order, topic, {"shop": source} if source else {})
