"""Phones (issue 16): the inbox as separate screens (list → thread → card) at 390×844, a
tablet's two panes, the admin and reports pages without sideways scrolling, and the web chat
widget at 360×740."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from hub.models import Conversation
from tests.conftest import make_settings
from tests.factories import messages_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.api import Api, customer_writes, make_api
from tests.support.browser import sign_in, watched_page

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
TABLET = {"width": 820, "height": 1180}


async def no_sideways_scroll(page: Page) -> None:
    """Nothing is wider than the screen: the page never scrolls sideways."""
    wide = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert wide[0] <= wide[1], f"the page is {wide[0]} px wide on a {wide[1]} px screen"


async def on_screen(page: Page, element: Locator) -> None:
    """`element` is visible and wholly inside the viewport, without scrolling the page."""
    await expect(element).to_be_visible()
    # The live list may re-render the row between the two calls: ask again until it is laid out.
    deadline = time.monotonic() + 10
    box = await element.bounding_box()
    while box is None and time.monotonic() < deadline:
        await expect(element).to_be_visible()
        box = await element.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    inside = (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )
    assert inside, f"{element} at {box} is not inside {size}"


async def test_a_whole_shift_on_a_phone(
    hub: RunningHub, anna: Api, fake_telegram: FakeTelegramAPI, browser: Browser
) -> None:
    customer = await customer_writes(hub, 7401, "Hello from my phone")
    for n in range(30):  # a long thread: the reply box must stay on screen anyway
        await operator_reply(hub, customer.conversation_id, f"Earlier answer {n}")
    await customer_writes(hub, 7401, "Where is my order 1042?")
    async with watched_page(browser, viewport=PHONE, has_touch=True) as page:
        await sign_in(page, hub, anna.email)
        row = page.locator(f'.row[data-conversation-id="{customer.conversation_id}"]')
        await on_screen(page, row)
        await expect(page.locator(".thread-pane")).to_be_hidden()  # the list is a screen
        await no_sideways_scroll(page)

        await row.locator("a").click()
        await expect(page.locator(".list-pane")).to_be_hidden()
        await expect(page.locator(".card-pane")).to_be_hidden()
        newest = page.locator('[data-sender="customer"]', has_text="Where is my order 1042?")
        await expect(newest).to_be_in_viewport()
        box = page.locator('textarea[name="text"]')
        send = page.locator("[data-send]")
        for control in (box, send, page.locator("[data-back-to-list]")):
            await on_screen(page, control)
        await no_sideways_scroll(page)

        await box.fill("It ships today.")
        await box.press("Control+Enter")
        await fake_telegram.wait_for_sent(lambda m: m.text == "It ships today.")
        await box.fill("Tracking follows by SMS.")
        await send.click()
        await fake_telegram.wait_for_sent(lambda m: m.text == "Tracking follows by SMS.")
        await expect(page.locator('[data-sender="operator"]').last).to_contain_text("Tracking")
        await on_screen(page, box)

        await page.locator("[data-open-card]").click()
        card = page.locator(".card-pane")
        await expect(card.locator("[data-customer-name]")).to_have_text("Ivan Petrov")
        await expect(page.locator(".thread-pane")).to_be_hidden()
        await no_sideways_scroll(page)
        await page.locator("[data-back-to-thread]").click()
        await expect(card).to_be_hidden()
        await on_screen(page, box)

        await page.locator("[data-resolve]").click()
        await expect(page.locator("[data-reopen]")).to_be_visible()

        async def resolved() -> bool:
            async with hub.hub.db.session() as session:
                conversation = await session.get(Conversation, customer.conversation_id)
            return conversation is not None and conversation.status == "resolved"

        await eventually(resolved, what="the conversation resolved")
        await page.locator("[data-back-to-list]").click()
        await expect(page.locator(".list-pane")).to_be_visible()
        await expect(row).to_have_count(0)  # resolved: off the open tab
        await no_sideways_scroll(page)


async def test_a_tablet_shows_the_list_beside_the_thread(
    hub: RunningHub, anna: Api, browser: Browser
) -> None:
    customer = await customer_writes(hub, 7421, "Hello from a tablet")
    async with watched_page(browser, viewport=TABLET) as page:
        await sign_in(page, hub, anna.email)
        await page.goto(f"{hub.url}/inbox/conversations/{customer.conversation_id}")
        for pane in (".list-pane", ".thread-pane", ".card-pane"):
            await expect(page.locator(pane)).to_be_visible()
        await expect(page.locator("[data-open-card]")).to_be_hidden()  # phones only
        await on_screen(page, page.locator('textarea[name="text"]'))
        await on_screen(page, page.locator("[data-send]"))
        await no_sideways_scroll(page)


async def test_admin_and_reports_fit_a_phone(hub: RunningHub, browser: Browser) -> None:
    boss = await make_api(hub, "boss@shop.test", "Boss", role="admin")
    await customer_writes(hub, 7411, "A message for the reports")
    async with watched_page(browser, viewport=PHONE) as page:
        await sign_in(page, hub, boss.email)
        pages = (("/inbox/admin", "[data-operators]"), ("/inbox/reports", "[data-reports]"))
        for path, marker in pages:
            await page.goto(f"{hub.url}{path}")
            await expect(page.locator(marker)).to_be_visible()
            await no_sideways_scroll(page)


@pytest.fixture
async def shop(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    running = await start_hub(make_settings(**backend_urls, secret_key="k", sandbox=True))
    yield running
    await stop_hub(running)


async def test_the_web_chat_widget_fits_a_small_phone(shop: RunningHub, browser: Browser) -> None:
    async with watched_page(browser, viewport=SMALL_PHONE, has_touch=True) as page:
        await page.goto(f"{shop.url}/demo/shop")
        await no_sideways_scroll(page)
        launcher = page.locator('[data-hubchat="launcher"]')
        await on_screen(page, launcher)
        await launcher.click()
        await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
        for name in ("panel", "close", "input", "send"):
            await on_screen(page, page.locator(f'[data-hubchat="{name}"]'))
        await no_sideways_scroll(page)

        await page.locator('[data-hubchat="input"]').fill("Does the kettle fit a small kitchen?")
        await page.locator('[data-hubchat="send"]').click()
        [stored] = await eventually(lambda: messages_of(shop.hub, channel="webchat"))
        mine = page.locator(f'[data-hubchat="message"][data-id="{stored.id}"]')
        await expect(mine).to_be_visible()
        await operator_reply(shop, stored.conversation_id, "Yes, it is 20 cm wide.")
        theirs = page.locator('[data-hubchat="message"][data-sender="operator"]')
        await expect(theirs).to_contain_text("Yes, it is 20 cm wide.")
        await on_screen(page, page.locator('[data-hubchat="send"]'))

        await page.locator('[data-hubchat="close"]').click()
        await expect(page.locator('[data-hubchat="panel"]')).to_be_hidden()
        await on_screen(page, launcher)
