"""Headless Debian Chromium driven by Playwright; never a downloaded browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.support import RunningHub
from tests.web.conftest import Api, make_api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_INSTALLED:
        pytest.fail(
            "Debian's chromium is missing: run scripts/setup.sh --test (apt-get install chromium)"
        )
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield instance
        await instance.close()


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


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser) as tab:
        yield tab


@pytest.fixture
async def anna(hub: RunningHub) -> Api:
    """An agent operator with a password, to sign in through the login form."""
    return await make_api(hub, "anna@shop.test", "Anna")
