"""Web fixtures: an operator with a password and an API token, a small API client, and a
cookie-keeping inbox client (`browser`, signed in as `agent`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.support import RunningHub
from tests.support.api import Api, Browser, make_api


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


@pytest.fixture
async def browser(hub: RunningHub) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(hub, http)


@pytest.fixture
async def agent(hub: RunningHub, api: Api) -> AsyncIterator[Browser]:
    """The `api` operator signed in to the inbox."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(hub, http)
        assert await browser.sign_in(api.email) == 303
        yield browser
