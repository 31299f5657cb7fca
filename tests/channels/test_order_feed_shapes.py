"""Order-feed payloads of every odd shape: the adapters give a clean event, nothing, or
InvalidInput (→ 400), never another exception (→ 500); what they give fits the hub's
columns; and through a running hub every odd delivery is a 200 or a 400, never a 5xx, with
nothing left dead in the queue."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.shopify import ShopifyWebhook
from adapters.woocommerce import WooCommerceWebhook
from hub.domain.feeds import FeedDelivery, FeedKind
from hub.domain.ports import WebhookRequest
from hub.errors import InvalidInput
from hub.models import Order
from tests.factories import count
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.security.fuzz import fuzz
from tests.security.strategies import JSON
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.feeds import (
    SHOPIFY_SECRET,
    WOOCOMMERCE_SECRET,
    drained,
    fixture,
    post_shopify,
    post_woocommerce,
    signature,
)
from tests.support.twilio import twilio_settings

SHOPIFY = ShopifyWebhook(SHOPIFY_SECRET)
WOOCOMMERCE = WooCommerceWebhook(WOOCOMMERCE_SECRET)
SHOPIFY_TOPICS = ["orders/create", "orders/updated", "orders/cancelled"]
FULFILLMENT_TOPICS = ["fulfillments/create", "fulfillments/update"]
WOO_TOPICS = ["order.created", "order.updated", "order.deleted"]


def _request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(
        headers=headers, body=body, content_type="application/json", full_url=lambda: ""
    )


def shopify_request(topic: str, payload: Any) -> WebhookRequest:
    body = json.dumps(payload).encode()
    return _request(
        body,
        {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(SHOPIFY_SECRET, body),
            "X-Shopify-Webhook-Id": "d-1",
        },
    )


def woocommerce_request(topic: str, payload: Any) -> WebhookRequest:
    body = json.dumps(payload).encode()
    return _request(
        body,
        {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": signature(WOOCOMMERCE_SECRET, body),
            "X-WC-Webhook-Delivery-ID": "d-1",
        },
    )


def assert_clean(adapter: ShopifyWebhook | WooCommerceWebhook, request: WebhookRequest) -> None:
    """Verified, then parsed to a clean event, to nothing, or refused with InvalidInput."""
    assert adapter.verify(request)
    try:
        delivery = adapter.parse(request)
    except InvalidInput as exc:
        assert exc.message
        return
    if delivery is None:
        return
    assert FeedDelivery.from_json(delivery.to_json()) == delivery  # survives the queue
    order = delivery.order
    assert order.source_id.isdigit() and len(order.source_id) <= 30
    if order.kind is FeedKind.ORDER:
        assert order.number and len(order.number) <= 64 and "\x00" not in order.number
        assert order.status and len(order.status) <= 64
        assert order.email or order.phone
    for url in (order.tracking_url,):
        assert url is None or (len(url) <= 1000 and url.startswith(("http://", "https://")))
    assert order.currency is None or (len(order.currency) == 3 and order.currency.isupper())
    for amount in (order.total, *(i.price for i in order.items or ())):
        assert amount is None or Decimal(amount).is_finite()
    for item in order.items or ():
        assert item.name and len(item.name) <= 200 and 0 <= item.qty <= 1_000_000


# The fields the adapters read, at every level they read them.
SHOPIFY_KEYS = st.sampled_from(
    [
        "id",
        "name",
        "order_number",
        "email",
        "contact_email",
        "phone",
        "customer",
        "billing_address",
        "line_items",
        "total_price",
        "currency",
        "financial_status",
        "fulfillment_status",
        "cancelled_at",
        "fulfillments",
        "updated_at",
        "order_id",
        "status",
        "shipment_status",
        "tracking_url",
        "tracking_urls",
    ]
)
NESTED_KEYS = st.sampled_from(
    [
        "email",
        "phone",
        "first_name",
        "last_name",
        "name",
        "country_code",
        "country",
        "sku",
        "title",
        "quantity",
        "price",
        "status",
        "shipment_status",
        "tracking_url",
        "tracking_urls",
    ]
)
ODD = JSON | st.sampled_from(
    [
        "",
        " ",
        "#",
        "#" * 70,
        "1" * 31,
        "-1",
        "NaN",
        "1e999",
        "Infinity",
        "javascript:alert(1)",
        "https://t.example/" + "x" * 1000,
        "+1 (415) 555-01",
        "not an email",
        "\x00",
        "\ud800",
    ]
)


@st.composite
def odd_shopify(draw: st.DrawFn, base: str) -> dict[str, Any]:
    """A captured payload with odd values put in, fields taken out, nested objects broken."""
    payload = fixture(base)
    for key in draw(st.lists(SHOPIFY_KEYS, max_size=4)):
        if draw(st.booleans()):
            payload.pop(key, None)
        else:
            payload[key] = draw(ODD)
    for holder in ("customer", "billing_address"):
        if isinstance(payload.get(holder), dict):
            for key in draw(st.lists(NESTED_KEYS, max_size=3)):
                payload[holder][key] = draw(ODD)
    for listed in ("line_items", "fulfillments"):
        if isinstance(payload.get(listed), list) and draw(st.booleans()):
            payload[listed] = [
                {
                    **fixture("shopify/fulfillments_create.json"),
                    **draw(st.dictionaries(NESTED_KEYS, ODD, max_size=3)),
                },
                draw(ODD),
            ]
    return payload


@fuzz(300)
@given(st.sampled_from(SHOPIFY_TOPICS), odd_shopify("shopify/orders_create.json"))
def test_odd_shopify_orders_parse_cleanly_or_are_refused(topic: str, payload: Any) -> None:
    assert_clean(SHOPIFY, shopify_request(topic, payload))


@fuzz(200)
@given(st.sampled_from(FULFILLMENT_TOPICS), odd_shopify("shopify/fulfillments_create.json"))
def test_odd_shopify_fulfillments_parse_cleanly_or_are_refused(topic: str, payload: Any) -> None:
    assert_clean(SHOPIFY, shopify_request(topic, payload))


WOO_KEYS = st.sampled_from(
    [
        "id",
        "number",
        "status",
        "currency",
        "total",
        "billing",
        "line_items",
        "meta_data",
        "date_modified_gmt",
        "date_completed",
    ]
)


@st.composite
def odd_woocommerce(draw: st.DrawFn) -> dict[str, Any]:
    payload = fixture("woocommerce/order_created.json")
    for key in draw(st.lists(WOO_KEYS, max_size=4)):
        if draw(st.booleans()):
            payload.pop(key, None)
        else:
            payload[key] = draw(ODD)
    if isinstance(payload.get("billing"), dict):
        for key in draw(st.lists(NESTED_KEYS, max_size=3)):
            payload["billing"][key] = draw(ODD)
    if draw(st.booleans()):
        payload["meta_data"] = [
            {
                "key": "_wc_shipment_tracking_items",
                "value": [{"custom_tracking_link": draw(ODD)}, draw(ODD)],
            },
            draw(ODD),
        ]
    return payload


@fuzz(300)
@given(st.sampled_from(WOO_TOPICS), odd_woocommerce())
def test_odd_woocommerce_orders_parse_cleanly_or_are_refused(topic: str, payload: Any) -> None:
    assert_clean(WOOCOMMERCE, woocommerce_request(topic, payload))


@fuzz(200)
@given(
    st.sampled_from(SHOPIFY_TOPICS + WOO_TOPICS),
    st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()),
)
def test_any_signed_body_parses_cleanly_or_is_refused(topic: str, body: bytes) -> None:
    if "/" in topic:
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(SHOPIFY_SECRET, body),
        }
        assert_clean(SHOPIFY, _request(body, headers))
    else:
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": signature(WOOCOMMERCE_SECRET, body),
        }
        assert_clean(WOOCOMMERCE, _request(body, headers))


def _shopify(**changes: Any) -> dict[str, Any]:
    return {**fixture("shopify/orders_create.json"), **changes}


# Through the hub: each odd payload, signed, as the platform would post it.
ODD_DELIVERIES: list[tuple[str, str, Any]] = [
    (
        "shopify",
        "orders/create",
        _shopify(customer=None, billing_address=None, email=None, contact_email=None),
    ),
    (
        "shopify",
        "orders/create",
        _shopify(line_items="none", total_price="NaN", currency="dollars"),
    ),
    ("shopify", "orders/create", _shopify(name="#" + "9" * 80, order_number=None)),
    ("shopify", "orders/create", _shopify(id="not-a-number")),
    (
        "shopify",
        "orders/create",
        _shopify(email="x" * 400, phone="\x00\ud800", customer={"first_name": ["a"]}),
    ),
    ("shopify", "orders/create", _shopify(name="N\x00UL\ud800-1", email="nul@example.com")),
    (
        "shopify",
        "orders/create",
        _shopify(
            fulfillments=[None, {"status": "success", "tracking_url": "ftp://x"}],
            fulfillment_status="fulfilled",
        ),
    ),
    ("shopify", "orders/updated", _shopify(updated_at="yesterday", financial_status=7)),
    ("shopify", "orders/create", [1, 2, 3]),
    ("shopify", "orders/create", "a string"),
    ("shopify", "fulfillments/create", {"order_id": 5, "status": "success"}),  # an unknown order
    ("shopify", "fulfillments/update", {"status": "success"}),
    ("shopify", "products/create", {"id": 1}),  # a topic the hub does not follow
    ("woocommerce", "order.created", {"id": 1}),
    (
        "woocommerce",
        "order.created",
        {**fixture("woocommerce/order_created.json"), "status": "checkout-draft"},
    ),
    ("woocommerce", "order.updated", {**fixture("woocommerce/order_created.json"), "billing": "x"}),
    (
        "woocommerce",
        "order.updated",
        {
            **fixture("woocommerce/order_created.json"),
            "line_items": [None, {"quantity": -3, "price": "1e999"}],
        },
    ),
    ("woocommerce", "order.deleted", {"id": 999}),  # never fed
    ("woocommerce", "order.deleted", {}),
    ("woocommerce", "coupon.created", {"id": 1}),
]


@pytest.fixture
async def feed_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(
        backend_urls,
        fake_twilio.base_url,
        shopify_webhook_secret=SHOPIFY_SECRET,
        woocommerce_webhook_secret=WOOCOMMERCE_SECRET,
    )
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_odd_deliveries_are_200_or_400_and_nothing_is_left_dead(feed_hub: RunningHub) -> None:
    answers = []
    for platform, topic, payload in ODD_DELIVERIES:
        body = json.dumps(payload).encode()
        post = post_shopify if platform == "shopify" else post_woocommerce
        status, _ = await post(feed_hub, topic, body)
        answers.append(status)
        again, _ = await post(feed_hub, topic, body)  # a new delivery id: handled alike
        assert again == status, (topic, payload)
    assert set(answers) == {200, 400}, answers
    await eventually(lambda: drained(feed_hub), what="every odd delivery handled")
    # Stored cleanly: the orders with a customer, under the hub's names; nothing dead.
    async with feed_hub.hub.db.session() as session:
        numbers = set((await session.scalars(select(Order.number))).all())  # type: ignore[call-overload]
    assert numbers == {"9999", "NUL\ufffd-1", "4750"}
    dead = await _dead_letters(feed_hub)
    assert dead == 0


async def _dead_letters(running: RunningHub) -> int:
    queue = running.hub.queue
    redis = getattr(queue, "redis", None)
    if redis is not None:
        return int(await redis.xlen("hub:dead:feeds"))
    from hub.models import DeadLetter

    return await count(running.hub, DeadLetter)
