"""The web chat widget on the demo shop page, in real headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import make_settings
from tests.factories import messages_of
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub


@pytest.fixture
async def shop(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    running = await start_hub(make_settings(**backend_urls, secret_key="k", sandbox=True))
    yield running
    await stop_hub(running)


async def open_chat_on_the_shop(shop: RunningHub, browser: Browser) -> Page:
    """The demo shop in a new tab (a script error fails the test), its chat open."""
    page = await browser.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"page error: {error}"))
    await page.goto(f"{shop.url}/demo/shop")
    await page.locator('[data-hubchat="launcher"]').click()
    await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
    return page


async def test_a_shopper_chats_from_the_demo_shop_and_sees_the_reply_live(
    shop: RunningHub, browser: Browser
) -> None:
    page = await open_chat_on_the_shop(shop, browser)
    await page.locator('[data-hubchat="input"]').fill("Is the glass kettle <b>in stock</b>?")
    await page.locator('[data-hubchat="send"]').click()

    [stored] = await eventually(lambda: messages_of(shop.hub, channel="webchat"))
    mine = page.locator(f'[data-hubchat="message"][data-id="{stored.id}"]')
    await expect(mine).to_contain_text("Is the glass kettle <b>in stock</b>?")

    await operator_reply(shop, stored.conversation_id, "Yes! <script>alert(1)</script>")
    theirs = page.locator('[data-hubchat="message"][data-sender="operator"]')
    await expect(theirs).to_contain_text("Yes! <script>alert(1)</script>")

    await page.reload()  # the token in localStorage resumes the same conversation
    await page.locator('[data-hubchat="launcher"]').click()
    await expect(page.locator('[data-hubchat="message"]')).to_have_count(2)
    await page.close()


async def test_a_shopper_who_saved_their_details_is_remembered_after_a_reload(
    shop: RunningHub, browser: Browser
) -> None:
    page = await open_chat_on_the_shop(shop, browser)
    await page.locator('[data-hubchat="identify-name"]').fill("Lena")
    await page.locator('[data-hubchat="identify-email"]').fill("lena@customer.test")
    await page.locator('[data-hubchat="identify-submit"]').click()
    await page.locator('[data-hubchat="input"]').fill("hello")
    await page.locator('[data-hubchat="send"]').click()
    await eventually(lambda: messages_of(shop.hub, channel="webchat"))

    await page.reload()
    await page.locator('[data-hubchat="launcher"]').click()
    await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
    await expect(page.locator('[data-hubchat="identify"]')).to_be_hidden()
    await expect(page.locator('[data-hubchat="identified"]')).to_contain_text("lena@customer.test")
    await page.close()
