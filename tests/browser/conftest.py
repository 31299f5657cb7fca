"""Headless Debian Chromium driven by Playwright; never a downloaded browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support import RunningHub
from tests.support.api import Api, make_api
from tests.support.browser import watched_page

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


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser) as tab:
        yield tab


@pytest.fixture
async def anna(hub: RunningHub) -> Api:
    """An agent operator with a password, to sign in through the login form."""
    return await make_api(hub, "anna@shop.test", "Anna")
