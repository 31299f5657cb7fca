"""Routing tests: the worker routes every few milliseconds, with no bot to wait for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support import RunningHub
from tests.support.api import Api, Browser, make_api


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"routing_check_seconds": 0.05, "routing_settle_seconds": 0.0}


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


@pytest.fixture
async def agent(hub: RunningHub, api: Api) -> AsyncIterator[Browser]:
    """The `api` operator signed in to the inbox."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(hub, http)
        assert await browser.sign_in(api.email) == 303
        yield browser
