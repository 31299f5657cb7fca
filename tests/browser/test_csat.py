"""CSAT in real headless Chromium: an operator resolves in the inbox, the shopper taps a
star in the widget, and the operator's thread shows the rating."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_widget import open_chat_on_the_shop
from tests.conftest import make_settings
from tests.factories import messages_of
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import make_api
from tests.support.browser import sign_in, watched_page


@pytest.fixture
async def shop(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    settings = make_settings(**backend_urls, secret_key="k", sandbox=True, csat=True)
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_a_shopper_rates_with_a_star_and_the_operator_sees_it_in_the_thread(
    shop: RunningHub, browser: Browser
) -> None:
    await make_api(shop, "anna@shop.test", "Anna")
    shopper = await open_chat_on_the_shop(shop, browser)
    await shopper.locator('[data-hubchat="input"]').fill("Can I return the kettle?")
    await shopper.locator('[data-hubchat="send"]').click()
    [stored] = await eventually(lambda: messages_of(shop.hub, channel="webchat"))

    async with watched_page(browser) as inbox:
        await sign_in(inbox, shop, "anna@shop.test")
        await inbox.goto(f"{shop.url}/inbox/conversations/{stored.conversation_id}")
        await inbox.locator("[data-resolve]").click()
        await expect(inbox.locator("[data-status-now]")).to_have_attribute(
            "data-status-now", "resolved"
        )

        stars = shopper.locator('[data-hubchat="csat-star"]')
        await expect(stars).to_have_count(5)
        question = shopper.locator('[data-hubchat="message"]', has=stars.first)
        await expect(question).to_contain_text("How satisfied are you")
        await stars.nth(3).click()  # "4 ★"
        await expect(shopper.locator('[data-hubchat="csat"]')).to_have_attribute("data-rating", "4")
        await expect(stars.nth(0)).to_be_disabled()
        thanks = shopper.locator('[data-hubchat="message"]', has_text="Thank you for your rating")
        await expect(thanks).to_contain_text("(4/5)")

        line = inbox.locator("[data-csat]").first
        await expect(line).to_contain_text("Rated 4/5")  # live, no reload
        await expect(line).to_have_attribute("data-csat", "4")
        await expect(inbox.locator("[data-csat-ratings]")).to_contain_text("Rated 4/5")
    await shopper.close()


async def test_reports_count_days_in_the_browsers_time_zone(
    shop: RunningHub, browser: Browser
) -> None:
    """A browser in Moscow gets Moscow days without asking; its CSV link keeps the zone."""
    await make_api(shop, "anna@shop.test", "Anna")
    async with watched_page(browser, timezone_id="Europe/Moscow", console_errors=True) as tab:
        await sign_in(tab, shop, "anna@shop.test")
        await tab.goto(f"{shop.url}/inbox/reports?days=7")
        await expect(tab.locator("[data-reports]")).to_have_attribute("data-zone", "Europe/Moscow")
        assert "tz=Europe%2FMoscow" in tab.url
        await expect(tab.locator("[data-zone-hint]")).to_contain_text("Europe/Moscow")
        await expect(tab.locator("[data-report-zone]")).to_have_value("Europe/Moscow")
        href = await tab.locator("[data-csv-export]").get_attribute("href")
        assert href is not None and "tz=Europe%2FMoscow" in href and "format=csv" in href
        await expect(tab.locator('[data-report="csat"]')).to_be_visible()
        # Next time the remembered zone is used straight away, without a redirect.
        await tab.goto(f"{shop.url}/inbox/reports")
        await expect(tab.locator("[data-reports]")).to_have_attribute("data-zone", "Europe/Moscow")
