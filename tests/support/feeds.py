"""Shop platforms' order feeds in tests: captured-shape payloads (tests/fixtures/shopify,
tests/fixtures/woocommerce), signed as the platform signs them and posted to a running hub;
and what the hub made of them."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.models import Order, OrderStatusChange
from tests.support.running import RunningHub

SHOPIFY_SECRET = "shopify-app-secret"
WOOCOMMERCE_SECRET = "woocommerce-webhook-secret"
FIXTURES = Path(__file__).parent.parent / "fixtures"
_deliveries = itertools.count(1)


@cache
def _load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of a captured-shape payload, e.g. `shopify/orders_create.json`."""
    return copy.deepcopy(json.loads(_load(name)))


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def new_delivery_id() -> str:
    return f"b54557e4-bdd9-4b37-8a5f-{next(_deliveries):012d}"


async def post(
    running: RunningHub, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    async with running.http.post(f"{running.url}{path}", data=body, headers=headers) as answer:
        return answer.status, await answer.text()


async def post_shopify(
    running: RunningHub,
    topic: str,
    payload: dict[str, Any] | bytes,
    *,
    webhook_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
    hmac_header: str | None = None,
) -> tuple[int, str]:
    """As Shopify delivers: JSON, HMAC of the raw body, topic and webhook id headers."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_header or signature(secret, body),
        "X-Shopify-Shop-Domain": "example-store.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": webhook_id or new_delivery_id(),
        "X-Shopify-Triggered-At": "2026-12-01T16:00:00.000000000Z",
    }
    return await post(running, "/webhooks/shopify", body, headers)


async def post_woocommerce(
    running: RunningHub,
    topic: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery_id: str | None = None,
    secret: str = WOOCOMMERCE_SECRET,
    signature_header: str | None = None,
) -> tuple[int, str]:
    """As WooCommerce's Hookshot delivers: JSON and its X-WC-Webhook-* headers."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature_header or signature(secret, body),
        "X-WC-Webhook-ID": "3",
        "X-WC-Webhook-Delivery-ID": delivery_id
        or hashlib.md5(new_delivery_id().encode()).hexdigest(),
    }
    return await post(running, "/webhooks/woocommerce", body, headers)


async def order(running: RunningHub, number: str) -> Order | None:
    async with running.hub.db.session() as session:
        found = await session.scalars(select(Order).where(Order.number == number))  # type: ignore[arg-type]
        return found.first()


async def statuses(running: RunningHub, number: str) -> list[str]:
    """The order's status history, oldest first."""
    async with running.hub.db.session() as session:
        found = await session.scalars(
            select(OrderStatusChange.status)  # type: ignore[call-overload]
            .join(Order, Order.id == OrderStatusChange.order_id)  # type: ignore[arg-type]
            .where(Order.number == number)
            .order_by(OrderStatusChange.id)
        )
        return list(found.all())


async def drained(running: RunningHub) -> bool:
    """Every queued feed delivery applied."""
    return await running.hub.queue.depth("feeds") == 0
