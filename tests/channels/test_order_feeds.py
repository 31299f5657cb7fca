"""Shopify and WooCommerce order feeds through the real endpoints: signatures, mapping,
de-duplication, ordering, and the customer who then asks the bot and is told of shipments."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import FeedDelivery, Identity, Order
from tests.factories import count, customer_of
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.feeds import (
    SHOPIFY_SECRET,
    WOOCOMMERCE_SECRET,
    drained,
    fixture,
    order,
    post,
    post_shopify,
    post_woocommerce,
    signature,
    statuses,
)
from tests.support.twilio import post_form, sms, twilio_settings

SHOPIFY_ORDER = "shopify/orders_create.json"
SHOPIFY_FULFILLMENT = "shopify/fulfillments_create.json"
WOO_ORDER = "woocommerce/order_created.json"


@pytest.fixture
async def feed_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(
        backend_urls,
        fake_twilio.base_url,
        shopify_webhook_secret=SHOPIFY_SECRET,
        woocommerce_webhook_secret=WOOCOMMERCE_SECRET,
        bots=True,
    )
    settings.check()
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def _stored(running: RunningHub, number: str, status: str | None = None) -> Order:
    async def probe() -> Order | None:
        found = await order(running, number)
        return found if found is not None and status in (None, found.status) else None

    return await eventually(probe, what=f"order {number} {status or ''}")


async def test_a_shopify_order_lands_with_its_customer_items_total_and_status(
    feed_hub: RunningHub,
) -> None:
    assert (await post_shopify(feed_hub, "orders/create", fixture(SHOPIFY_ORDER)))[0] == 200
    stored = await _stored(feed_hub, "9999")
    assert stored.status == "processing"  # paid, nothing fulfilled yet
    assert (stored.total, stored.currency, stored.tracking_url) == ("403.00", "USD", None)
    assert stored.items[0] == {
        "name": "IPod Nano - 8GB",
        "qty": 1,
        "sku": "IPOD2008PINK",
        "price": "199.00",
    }
    assert len(stored.items) == 2
    customer = await customer_of(feed_hub.hub, "email", "jon@example.com")
    assert customer is not None and customer.id == stored.customer_id
    assert customer.name == "John Smith"
    async with feed_hub.hub.db.session() as session:
        found = await session.scalars(
            select(Identity).where(Identity.customer_id == customer.id)  # type: ignore[arg-type]
        )
        identities = {(i.channel, i.address): i.verified for i in found}
    # Signed by the shop: proven. The billing phone is read with its country (US).
    assert identities == {
        ("email", "jon@example.com"): True,
        ("sms", "+15555557447"): True,
        ("whatsapp", "+15555557447"): True,
    }


async def test_a_woocommerce_order_lands_mapped_the_same_way(feed_hub: RunningHub) -> None:
    assert (await post_woocommerce(feed_hub, "order.created", fixture(WOO_ORDER)))[0] == 200
    stored = await _stored(feed_hub, "4750")
    assert (stored.status, stored.total, stored.currency) == ("processing", "34.80", "EUR")
    assert stored.items == [
        {"name": "Woo Single #1", "qty": 2, "sku": "WOO-SINGLE-1", "price": "14.95"}
    ]
    by_email = await customer_of(feed_hub.hub, "email", "anna.kowalska@example.com")
    by_phone = await customer_of(feed_hub.hub, "sms", "+48601234567")  # national, PL billing
    assert by_email is not None and by_phone is not None
    assert by_email.id == by_phone.id == stored.customer_id
    assert by_email.name == "Anna Kowalska"


@pytest.mark.parametrize(
    ("status", "completed", "expected"),
    [
        ("pending", None, "created"),
        ("on-hold", None, "created"),
        ("completed", "2026-12-03T10:00:00", "shipped"),
        ("cancelled", None, "cancelled"),
        ("failed", None, "cancelled"),
        ("refunded", None, "cancelled"),
        ("refunded", "2026-12-03T10:00:00", "returned"),
        ("wc-delivered", None, "delivered"),
        ("awaiting-shipment", None, "awaiting_shipment"),  # the shop's own, shown as it is
    ],
)
async def test_woocommerce_statuses_map_onto_the_hubs(
    feed_hub: RunningHub, status: str, completed: str | None, expected: str
) -> None:
    payload = {**fixture(WOO_ORDER), "status": status, "date_completed": completed}
    assert (await post_woocommerce(feed_hub, "order.updated", payload))[0] == 200
    assert (await _stored(feed_hub, "4750")).status == expected


async def test_the_woocommerce_ping_is_answered_200_and_stores_nothing(
    feed_hub: RunningHub,
) -> None:
    # What WooCommerce posts when the webhook is saved: unsigned, form-encoded, no topic.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await post(feed_hub, "/webhooks/woocommerce", b"webhook_id=3", headers))[0] == 200
    assert await feed_hub.hub.queue.depth("feeds") == 0
    assert await count(feed_hub.hub, FeedDelivery) == 0


async def test_a_wrong_or_missing_signature_is_401_and_nothing_is_queued(
    feed_hub: RunningHub,
) -> None:
    payload = fixture(SHOPIFY_ORDER)
    body = b'{"id": 1, "name": "#1", "email": "x@example.com"}'
    refused = [
        await post_shopify(feed_hub, "orders/create", payload, secret="not-the-secret"),
        await post_shopify(feed_hub, "orders/create", body, hmac_header="bm9wZQ=="),
        await post_shopify(
            feed_hub, "orders/create", body + b" ", hmac_header=signature(SHOPIFY_SECRET, body)
        ),
        await post(
            feed_hub,
            "/webhooks/shopify",
            body,
            {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create"},
        ),
        await post_woocommerce(feed_hub, "order.created", fixture(WOO_ORDER), secret="wrong"),
        await post(
            feed_hub,
            "/webhooks/woocommerce",
            body,
            {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created"},
        ),
        # A ping's shape with a forged signature header is a signed delivery that fails.
        await post(
            feed_hub,
            "/webhooks/woocommerce",
            b"webhook_id=3",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-WC-Webhook-Signature": "bm9wZQ==",
            },
        ),
    ]
    assert [status for status, _ in refused] == [401] * len(refused)
    assert await feed_hub.hub.queue.depth("feeds") == 0
    assert await count(feed_hub.hub, Order) == 0


async def test_a_feed_without_its_secret_is_not_found(hub: RunningHub) -> None:
    status, text = await post_shopify(hub, "orders/create", fixture(SHOPIFY_ORDER))
    assert status == 404 and "HUB_SHOPIFY_WEBHOOK_SECRET" in text


async def test_a_repeated_delivery_is_answered_like_the_first_and_changes_nothing(
    feed_hub: RunningHub,
) -> None:
    created = fixture(SHOPIFY_ORDER)
    del created["updated_at"]  # only the delivery id can tell the repeat
    cancelled = {
        **created,
        "cancelled_at": "2026-12-01T12:00:00-05:00",
        "cancel_reason": "customer",
    }
    first = await post_shopify(feed_hub, "orders/create", created, webhook_id="delivery-a")
    await _stored(feed_hub, "9999", "processing")
    await post_shopify(feed_hub, "orders/cancelled", cancelled, webhook_id="delivery-b")
    await _stored(feed_hub, "9999", "cancelled")
    # Shopify retries delivery A (its answer was lost): same answer, nothing moves back.
    answers = await asyncio.gather(
        *(
            post_shopify(feed_hub, "orders/create", created, webhook_id="delivery-a")
            for _ in range(3)
        )
    )
    assert set(answers) == {first} == {(200, "")}
    await eventually(lambda: drained(feed_hub), what="the repeats handled")
    assert await statuses(feed_hub, "9999") == ["processing", "cancelled"]
    assert await count(feed_hub.hub, FeedDelivery) == 2


async def test_a_late_older_event_never_moves_the_order_back(feed_hub: RunningHub) -> None:
    paid = fixture(SHOPIFY_ORDER)
    fulfilled = {
        **paid,
        "fulfillment_status": "fulfilled",
        "updated_at": "2026-12-02T09:30:00-05:00",
        "fulfillments": [fixture(SHOPIFY_FULFILLMENT)],
    }
    await post_shopify(feed_hub, "orders/updated", fulfilled)
    stored = await _stored(feed_hub, "9999", "shipped")
    assert stored.tracking_url is not None and "1Z2345" in stored.tracking_url
    await post_shopify(feed_hub, "orders/create", paid)  # older, delivered late
    await eventually(lambda: drained(feed_hub), what="the late event handled")
    assert await statuses(feed_hub, "9999") == ["shipped"]


async def test_a_deleted_woocommerce_order_is_kept_cancelled_and_nobody_is_told(
    feed_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    payload = fixture(WOO_ORDER)
    payload["billing"]["phone"] = "+14155550190"
    await post_woocommerce(feed_hub, "order.created", payload)
    await _stored(feed_hub, "4750", "processing")
    await post_woocommerce(feed_hub, "order.deleted", {"id": 4750})
    await _stored(feed_hub, "4750", "cancelled")
    await eventually(lambda: drained(feed_hub), what="the deletion handled")
    assert [c for c in fake_twilio.sent if c.to == "+14155550190"] == []


async def _answers(fake: FakeTwilioAPI, phone: str, at_least: int) -> list[str]:
    async def probe() -> list[str]:
        found = [c.body or "" for c in fake.sent if c.to == phone]
        return found if len(found) >= at_least else []

    return await eventually(probe, what=f"{at_least} messages to {phone}")


async def test_a_shopify_customer_asks_by_sms_then_hears_of_each_shipment_once(
    feed_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    phone = "+14155550177"
    created = {**fixture(SHOPIFY_ORDER), "phone": phone}
    await post_shopify(feed_hub, "orders/create", created)
    await _stored(feed_hub, "9999", "processing")
    assert not [c for c in fake_twilio.sent if c.to == phone]  # a new order tells nobody

    # The feed's phone is a proven identity: the customer texting from it is its owner.
    assert (
        await post_form(
            feed_hub, "/webhooks/twilio/messages", sms(phone, "where is my order 9999?")
        )
    )[0] == 200
    [answer] = await _answers(fake_twilio, phone, 1)
    assert "9999" in answer and "IPod" not in answer

    shipment = fixture(SHOPIFY_FULFILLMENT)
    await post_shopify(feed_hub, "fulfillments/create", shipment)
    told = await _answers(fake_twilio, phone, 2)
    assert "9999" in told[1] and "shipped" in told[1] and "1Z2345" in told[1]

    # The same shipment again, and the order update Shopify sends with it: no second notice.
    await post_shopify(feed_hub, "fulfillments/update", shipment)
    fulfilled = {
        **created,
        "fulfillment_status": "fulfilled",
        "updated_at": "2026-12-02T09:30:00-05:00",
        "fulfillments": [shipment],
    }
    await post_shopify(feed_hub, "orders/updated", fulfilled)
    await eventually(lambda: drained(feed_hub), what="the repeats handled")
    assert await statuses(feed_hub, "9999") == ["processing", "shipped"]

    delivered = {
        **shipment,
        "shipment_status": "delivered",
        "updated_at": "2026-12-04T10:00:00-05:00",
    }
    await post_shopify(feed_hub, "fulfillments/update", delivered)
    told = await _answers(fake_twilio, phone, 3)
    assert "9999" in told[2] and "delivered" in told[2]
    await eventually(lambda: drained(feed_hub), what="the delivery handled")
    assert len([c for c in fake_twilio.sent if c.to == phone]) == 3


async def test_statuses_outside_the_notify_setting_tell_nobody(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> None:
    settings = twilio_settings(
        backend_urls,
        fake_twilio.base_url,
        shopify_webhook_secret=SHOPIFY_SECRET,
        order_notify_statuses="delivered",
    )
    running = await start_hub(settings)
    try:
        phone = "+14155550178"
        created = {**fixture(SHOPIFY_ORDER), "phone": phone}
        await post_shopify(running, "orders/create", created)
        await _stored(running, "9999", "processing")
        await post_shopify(running, "fulfillments/create", fixture(SHOPIFY_FULFILLMENT))
        await _stored(running, "9999", "shipped")
        await eventually(lambda: drained(running), what="the shipment handled")
        assert not [c for c in fake_twilio.sent if c.to == phone]
        delivered = {
            **fixture(SHOPIFY_FULFILLMENT),
            "shipment_status": "delivered",
            "updated_at": "2026-12-04T10:00:00-05:00",
        }
        await post_shopify(running, "fulfillments/update", delivered)
        [told] = await _answers(fake_twilio, phone, 1)
        assert "delivered" in told
    finally:
        await stop_hub(running)
