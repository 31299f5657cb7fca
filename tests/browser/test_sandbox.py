"""The `/sandbox` page in real headless Chromium: write as a Telegram customer (who shares
her phone number, so the bot knows her orders) and watch the bot's and then an operator's
answers arrive, live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from hub.actions.orders import do_upsert_order
from hub.commands.demo_data import DEMO_ORDERS
from tests.support import RunningHub, operator_reply, stop_hub
from tests.support.api import make_api
from tests.support.browser import sign_in, watched_page
from tests.support.sandbox import ANNA, sandbox_settings, start_sandbox, stored_inbound


@pytest.fixture
async def sandbox(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    running = await start_sandbox(sandbox_settings(backend_urls, bots=True))
    async with running.hub.db.session() as session:
        for order in DEMO_ORDERS:
            await do_upsert_order(session, order)
        await session.commit()
    yield running
    await stop_hub(running)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser, console_errors=True) as tab:
        yield tab


async def test_an_operator_writes_as_a_telegram_customer_and_sees_the_answers_live(
    sandbox: RunningHub, page: Page
) -> None:
    olga = await make_api(sandbox, "olga@shop.test", "Olga")
    await sign_in(page, sandbox, olga.email)
    await page.goto(f"{sandbox.url}/sandbox")
    await expect(page.locator("[data-notice]")).to_contain_text("signed-in operators")

    for channel in ("sms", "telegram"):  # a pick reloads the page for that channel
        await page.locator(f'[data-pick] input[value="{channel}"]').check()
        await page.wait_for_url(f"**/sandbox?channel={channel}*")
    await page.locator("[data-customer]").select_option(ANNA)
    await expect(page.locator("h2")).to_contain_text("Anna Petrova on telegram")

    box = page.locator('[data-send] textarea[name="text"]')
    entries = page.locator("[data-entries]")
    # Anna shares her phone number, so the hub knows this Telegram user is the demo's Anna.
    await page.locator("[data-share-contact]").click()
    await expect(entries.locator('[data-direction="inbound"]')).to_contain_text(
        "shared the phone number +15555550142"
    )
    await box.fill("where is my order 1042? <b>now</b>")
    await box.press("Control+Enter")
    mine = entries.locator('[data-direction="inbound"]', has_text="order 1042? <b>now</b>")
    await expect(mine).to_have_attribute("data-status", "accepted")
    await expect(box).to_have_value("")

    bot = entries.locator('[data-direction="outbound"]', has_text="tracking.demo.test/1042")
    await expect(bot).to_be_visible(timeout=30_000)

    message = await stored_inbound(sandbox, "where is my order 1042? <b>now</b>")
    await operator_reply(sandbox, message.conversation_id, "Hi Anna, Olga here.")
    human = entries.locator('[data-direction="outbound"]', has_text="Hi Anna, Olga here.")
    await expect(human).to_be_visible(timeout=20_000)
    await expect(human).to_have_attribute("data-status", "sent")
