"""A real browser tab (Playwright on Debian's Chromium) that fails the test on script
errors, and the inbox's sign-in form filled in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Page, expect

from tests.support.api import PASSWORD
from tests.support.running import RunningHub


async def sign_in(page: Page, hub: RunningHub, email: str) -> None:
    await page.goto(f"{hub.url}/inbox")
    await page.locator('input[type="email"][name="email"]').fill(email)
    await page.locator('input[type="password"][name="password"]').fill(PASSWORD)
    await page.locator('input[name="password"]').press("Enter")
    await expect(page.locator("[data-live-state]")).to_have_text("live")


@asynccontextmanager
async def watched_page(
    browser: Browser, *, console_errors: bool = False, **context_options: Any
) -> AsyncIterator[Page]:
    """A tab in a fresh context whose script errors and dialogs (an XSS payload that ran)
    fail the test; with `console_errors`, so do errors logged to the console."""
    context = await browser.new_context(**context_options)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "favicon" not in str(message.location):
            errors.append(f"{message.text} {message.location}")

    if console_errors:
        tab.on("console", on_console)
    try:
        yield tab
    finally:
        await context.close()
    assert errors == [], errors
