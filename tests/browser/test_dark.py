"""Dark mode (issue 16): the inbox and the web chat widget follow the browser's
prefers-color-scheme and keep their text readable (WCAG AA, 4.5:1 for small text)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import make_settings
from tests.factories import messages_of
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.api import Api, customer_writes
from tests.support.browser import sign_in, watched_page
from tests.support.contrast import background_luminance, contrast

DARK = 0.05  # a background darker than this luminance reads as dark (#12161d is 0.008)


async def test_the_inbox_is_dark_and_readable_when_the_browser_asks(
    hub: RunningHub, anna: Api, browser: Browser
) -> None:
    first = await customer_writes(hub, 7501, "First")
    second = await customer_writes(hub, 7502, "Second")
    await operator_reply(hub, first.conversation_id, "An answer")
    viewport = {"width": 1280, "height": 800}
    async with watched_page(browser, viewport=viewport, color_scheme="dark") as page:
        await sign_in(page, hub, anna.email)
        await page.goto(f"{hub.url}/inbox/conversations/{first.conversation_id}")
        current = page.locator(f'.row.current[data-conversation-id="{first.conversation_id}"]')
        other = page.locator(f'.row[data-conversation-id="{second.conversation_id}"]')
        customer = page.locator(f'[data-message-id="{first.id}"]')
        operator = page.locator('[data-sender="operator"]', has_text="An answer")
        await expect(operator).to_be_visible()
        for pane in (".list-pane", ".thread-pane", ".card-pane"):
            assert await background_luminance(page.locator(pane)) < DARK, pane
        readable = [
            current.locator("time"),
            other.locator("time"),
            other.locator("[data-last]"),
            customer.locator("header time"),
            customer.locator("[data-text]"),
            operator.locator("header time"),
            operator.locator("[data-text]"),
            page.locator("[data-tab='open']"),
            page.locator("[data-customer-name]"),
            page.locator("[data-send]"),
        ]
        for text in readable:
            await expect(text).to_be_visible()
            assert await contrast(text) >= 4.5, text


@pytest.fixture
async def shop(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    running = await start_hub(make_settings(**backend_urls, secret_key="k", sandbox=True))
    yield running
    await stop_hub(running)


async def test_the_web_chat_widget_is_dark_and_readable_when_the_browser_asks(
    shop: RunningHub, browser: Browser
) -> None:
    viewport = {"width": 360, "height": 740}
    async with watched_page(browser, viewport=viewport, color_scheme="dark") as page:
        await page.goto(f"{shop.url}/demo/shop")
        await page.locator('[data-hubchat="launcher"]').click()
        await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
        await page.locator('[data-hubchat="input"]').fill("Is it dark in here?")
        await page.locator('[data-hubchat="send"]').click()
        [stored] = await eventually(lambda: messages_of(shop.hub, channel="webchat"))
        await operator_reply(shop, stored.conversation_id, "Only after sunset.")
        theirs = page.locator('[data-hubchat="message"][data-sender="operator"]')
        await expect(theirs).to_contain_text("Only after sunset.")
        assert await background_luminance(page.locator('[data-hubchat="messages"]')) < DARK
        for text in (
            theirs.locator('[data-hubchat="label"]'),
            theirs.locator('[data-hubchat="text"]'),
            page.locator('[data-hubchat="input"]'),
        ):
            assert await contrast(text) >= 4.5, text
