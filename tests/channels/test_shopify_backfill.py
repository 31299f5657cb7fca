"""`hub shopify backfill`: recent orders through the Admin API (a fake on loopback), every
page followed, a progress bar, and nobody told about history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.commands.shopify_backfill import backfill
from hub.errors import ProviderError
from hub.models import Message, Order, OrderNotification
from hub.settings import Settings
from tests.conftest import make_settings
from tests.factories import count
from tests.fakes.shopify_api import ACCESS_TOKEN, FakeShopifyAPI
from tests.support import start_hub, stop_hub
from tests.support.cli import clean_env, run_hub
from tests.support.feeds import fixture, order, statuses


def shop_order(n: int, **changes: Any) -> dict[str, Any]:
    data = fixture("shopify/orders_create.json")
    data.update(id=1000 + n, name=f"#{n}", order_number=n, email=f"buyer{n}@example.com")
    data.update(changes)
    return data


@pytest.fixture
async def fake_shopify() -> AsyncIterator[FakeShopifyAPI]:
    async with FakeShopifyAPI() as fake:
        yield fake


def shop_settings(backend_urls: dict[str, Any], fake: FakeShopifyAPI) -> Settings:
    return make_settings(
        **backend_urls,
        shopify_shop="example-store",
        shopify_access_token=ACCESS_TOKEN,
        shopify_api_url=fake.base_url,
    )


async def test_backfill_follows_every_page_stores_the_orders_and_tells_nobody(
    backend_urls: dict[str, Any], fake_shopify: FakeShopifyAPI
) -> None:
    fake_shopify.orders = [
        shop_order(1),
        shop_order(
            2,
            fulfillment_status="fulfilled",
            fulfillments=[fixture("shopify/fulfillments_create.json")],
        ),
        shop_order(3, cancelled_at="2026-12-01T12:00:00-05:00"),
        shop_order(4, email=None, contact_email=None, customer=None, billing_address=None),  # POS
        shop_order(5, financial_status="pending"),
    ]
    fake_shopify.page_cap, fake_shopify.throttle = 2, 1
    settings = shop_settings(backend_urls, fake_shopify)
    summary = await backfill(settings, days=30)
    assert summary == "5 fetched: 4 created, 0 updated, 0 unchanged, 1 skipped"
    assert [c.path.rsplit("/", 1)[-1] for c in fake_shopify.calls if c.throttled] == ["count.json"]
    first, *rest = [c for c in fake_shopify.calls if c.path.endswith("/orders.json")]
    assert first.query["status"] == "any" and "updated_at_min" in first.query
    # The next pages exactly as linked: page_info alone, never the first request's filters.
    assert [c.query for c in rest] == [
        {"limit": "2", "page_info": "cursor2"},
        {"limit": "2", "page_info": "cursor4"},
    ]
    assert all(c.authorised for c in fake_shopify.calls)

    running = await start_hub(settings, with_worker=False)
    try:
        assert [
            (n, (await order(running, n)) is not None and (await statuses(running, n)))
            for n in ("1", "2", "3", "4", "5")
        ] == [
            ("1", ["processing"]),
            ("2", ["shipped"]),
            ("3", ["cancelled"]),
            ("4", False),
            ("5", ["created"]),
        ]
        assert await count(running.hub, OrderNotification) == 0
        assert await count(running.hub, Message) == 0
    finally:
        await stop_hub(running)

    # Again, with one order moved on meanwhile: only that one changes; nobody is told.
    fake_shopify.orders[0] = shop_order(
        1, fulfillment_status="fulfilled", updated_at="2026-12-03T10:00:00-05:00"
    )
    again = await backfill(settings, days=30)
    assert again == "5 fetched: 0 created, 1 updated, 3 unchanged, 1 skipped"


async def test_a_wrong_token_is_a_clear_error_and_nothing_is_stored(
    backend_urls: dict[str, Any], fake_shopify: FakeShopifyAPI
) -> None:
    fake_shopify.orders = [shop_order(1)]
    settings = shop_settings(backend_urls, fake_shopify).model_copy(
        update={
            "shopify_access_token": make_settings(
                shopify_access_token="shpat_wrong"
            ).shopify_access_token
        }
    )
    with pytest.raises(ProviderError, match="401"):
        await backfill(settings, days=30)
    running = await start_hub(settings, with_worker=False)
    try:
        assert await count(running.hub, Order) == 0
    finally:
        await stop_hub(running)


async def test_the_command_shows_progress_and_needs_the_shop_settings(
    tmp_path: Path, fake_shopify: FakeShopifyAPI
) -> None:
    fake_shopify.orders = [shop_order(n) for n in range(1, 4)]
    env = clean_env(
        HUB_SHOPIFY_SHOP="example-store",
        HUB_SHOPIFY_ACCESS_TOKEN=ACCESS_TOKEN,
        HUB_SHOPIFY_API_URL=fake_shopify.base_url,
    )
    code, out, err = await run_hub(tmp_path, env, "shopify", "backfill", "--days", "7")
    assert code == 0, err
    assert out.strip() == "3 fetched: 3 created, 0 updated, 0 unchanged, 0 skipped"
    assert "backfilling" in err and "3/3" in err  # tqdm's bar on stderr
    code, out, err = await run_hub(tmp_path, clean_env(), "shopify", "backfill")
    assert code == 2 and "HUB_SHOPIFY_SHOP" in err and "Traceback" not in err
    code, _, err = await run_hub(tmp_path, env, "shopify", "backfill", "--days", "0")
    assert code == 2 and "days" in err
    elsewhere = {**env, "HUB_SHOPIFY_SHOP": "attacker.example/x"}
    code, _, err = await run_hub(tmp_path, elsewhere, "shopify", "backfill")
    assert code == 2 and "HUB_SHOPIFY_SHOP" in err
