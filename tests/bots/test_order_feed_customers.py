"""A WooCommerce shop's customers, end to end: the feed brings the order, the customer asks
the bot from the phone or email the order names and gets its status, then hears of the
shipment once, on the channel they wrote from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.feeds import WOOCOMMERCE_SECRET, drained, fixture, order, post_woocommerce
from tests.support.people import Fakes, Person, every_channel_settings, person, settled


@pytest.fixture
async def feed_hub(backend_urls: dict[str, Any], fakes: Fakes) -> AsyncIterator[RunningHub]:
    settings = every_channel_settings(backend_urls, fakes).model_copy(
        update={"woocommerce_webhook_secret": SecretStr(WOOCOMMERCE_SECRET)}
    )
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def _told(someone: Person, n: int) -> list[str]:
    async def delivered() -> list[str] | None:
        found = someone.answers()
        return found if len(found) >= n else None

    return await eventually(delivered, what=f"{n} message(s) on {someone.channel}")


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email"])
async def test_a_woocommerce_customer_asks_then_hears_of_the_shipment_once(
    feed_hub: RunningHub, fakes: Fakes, channel: str
) -> None:
    someone = person(channel, feed_hub, fakes)
    payload = fixture("woocommerce/order_created.json")
    payload["billing"].update(someone.order_customer())
    try:
        assert (await post_woocommerce(feed_hub, "order.created", payload))[0] == 200

        async def stored() -> bool:
            found = await order(feed_hub, "4750")
            return found is not None

        await eventually(stored, what="order 4750 from the feed")
        await someone.ask("where is my order 4750?")
        [answer] = await _told(someone, 1)
        assert "4750" in answer and "being prepared" in answer

        completed = {**payload, "status": "completed", "date_modified_gmt": "2026-12-02T09:00:00"}
        await post_woocommerce(feed_hub, "order.updated", completed)
        told = await _told(someone, 2)
        assert "4750" in told[1] and "shipped" in told[1]
        # WooCommerce saves the order again (a note added): the same status, no second notice.
        again = {**completed, "date_modified_gmt": "2026-12-02T09:05:00"}
        await post_woocommerce(feed_hub, "order.updated", again)
        await eventually(lambda: drained(feed_hub), what="the second update applied")
        await settled(feed_hub)
        assert len(someone.answers()) == 2
    finally:
        await someone.close()
