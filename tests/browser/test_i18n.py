"""Switching the inbox to Russian in real headless Chromium: labels, the script's own words,
dates in the page's language, and errors, all follow the operator's choice."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub
from tests.support.api import PASSWORD, Api, customer_writes
from tests.support.browser import watched_page


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser, locale="en-US") as tab:
        yield tab


async def sign_in(page: Page, hub: RunningHub, email: str, live: str) -> None:
    await page.goto(f"{hub.url}/inbox")
    await page.locator('input[name="email"]').fill(email)
    await page.locator('input[name="password"]').fill(PASSWORD)
    await page.locator('input[name="password"]').press("Enter")
    await expect(page.locator("[data-live-state]")).to_have_text(live)


async def test_an_operator_switches_the_inbox_to_russian_and_it_stays(
    hub: RunningHub, anna: Api, page: Page, browser: Browser, fake_telegram: FakeTelegramAPI
) -> None:
    first = await customer_writes(hub, 7401, "Where is my parcel?")
    await sign_in(page, hub, anna.email, live="live")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    await page.locator('[data-lang-switch] [data-locale="ru"]').click()
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    await expect(page.locator("[data-live-state]")).to_have_text("на связи")  # the script's word
    await expect(page.locator('[data-tab="open"]')).to_contain_text("Открытые")

    await page.locator(f'.row[data-conversation-id="{first.conversation_id}"] a').click()
    await expect(page.locator("[data-note]")).to_have_text("Добавить заметку")
    await expect(page.locator("[data-send]")).to_have_text("Отправить")
    stamp = page.locator(f'[data-message-id="{first.id}"] time')
    await expect(stamp).to_have_text(re.compile(r"[а-я]"))  # the browser writes it in Russian

    # An error from the server comes back in Russian too.
    await page.locator('[data-snooze] input[name="snooze_until"]').fill("2001-01-01T10:00")
    await page.locator("[data-snooze-picked]").click()
    await expect(page.locator("[data-head-error]")).to_have_text(
        "Отложить можно только до времени в будущем."
    )

    # The choice belongs to the operator: a fresh browser signs in to a Russian inbox.
    other = await browser.new_context(locale="en-US")
    try:
        tab = await other.new_page()
        await sign_in(tab, hub, anna.email, live="на связи")
        await expect(tab.locator("html")).to_have_attribute("lang", "ru")
        await tab.locator('[data-lang-switch] [data-locale="en"]').click()
        await expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        await other.close()


async def test_the_login_page_speaks_the_browsers_language(
    hub: RunningHub, anna: Api, browser: Browser
) -> None:
    context = await browser.new_context(locale="ru-RU")
    try:
        tab = await context.new_page()
        await tab.goto(f"{hub.url}/inbox")
        await expect(tab.locator("html")).to_have_attribute("lang", "ru")
        await expect(tab.get_by_role("button", name="Войти")).to_be_visible()
        await tab.locator('[data-lang-links] [data-locale="en"]').click()
        await expect(tab.get_by_role("button", name="Sign in")).to_be_visible()
    finally:
        await context.close()
