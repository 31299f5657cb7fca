"""The admin page's webhooks, in the browser's terms: add one (its secret shown on that
answer only), read its delivery log, rotate, turn off, delete; agents are kept out; the
page speaks Russian to a Russian-speaking admin."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from hub.actions.operator_locale import do_set_operator_locale
from tests.fakes.webhook_receiver import Received, WebhookReceiver
from tests.support import RunningHub, eventually
from tests.support.api import Api, Browser, customer_writes, make_api

PAGE = "/inbox/admin/webhooks"
SECRET = re.compile(r"<code data-secret>(whsec_[\w-]+)</code>")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allow_loopback": True, "webhook_retry_seconds": 0.05}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as fake:
        yield fake


@pytest.fixture
async def root_api(hub: RunningHub) -> Api:
    return await make_api(hub, "root@shop.test", "Root", role="admin")


@pytest.fixture
async def root(hub: RunningHub, root_api: Api) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(hub, http)
        assert await browser.sign_in("root@shop.test") == 303
        yield browser


async def test_an_admin_adds_a_webhook_sees_its_secret_once_and_its_delivery_log(
    hub: RunningHub, root: Browser, agent: Browser, receiver: WebhookReceiver
) -> None:
    status, html, _ = await root.get(PAGE)
    assert status == 200 and "No webhooks." in html and "data-add-webhook" in html
    csrf = await root.csrf()
    form = {"csrf": csrf, "url": receiver.url("/hook"), "events": "conversation.created"}
    status, html, _ = await root.post(PAGE, form)
    assert status == 200
    found = SECRET.search(html)
    assert found is not None
    secret = found.group(1)
    status, html, _ = await root.get(PAGE)
    assert secret not in html and receiver.url("/hook") in html  # shown once

    await customer_writes(hub, 7501, "hello there")
    [delivery] = await eventually(lambda: _received(receiver), what="the delivery")
    assert delivery.signed_by(secret, int(time.time()))

    async def logged() -> str | None:
        _, page, _ = await root.get(PAGE)
        return page if 'data-attempt data-status="200"' in page else None

    page = await eventually(logged, what="the try in the delivery log")
    assert "conversation.created" in page and "1 delivered, 0 waiting, 0 failed" in page

    hook_id = re.search(r'data-webhook="(\d+)"', page)
    assert hook_id is not None
    base = f"{PAGE}/{hook_id.group(1)}"
    status, rotated, _ = await root.post(base + "/rotate", {"csrf": csrf})
    new = SECRET.search(rotated)
    assert status == 200 and new is not None and new.group(1) != secret
    status, _, response = await root.post(base + "/switch", {"csrf": csrf, "enabled": "0"})
    assert status == 303 and response.headers["Location"] == PAGE
    assert 'data-enabled="0"' in (await root.get(PAGE))[1]

    # Agents get no page and no change; a post without the CSRF token changes nothing.
    assert (await agent.get(PAGE))[0] == 403
    assert (await agent.post(base + "/delete", {"csrf": await agent.csrf()}))[0] == 403
    assert (await root.post(base + "/delete", {"csrf": "forged"}))[0] in (400, 403)
    assert f'data-webhook="{hook_id.group(1)}"' in (await root.get(PAGE))[1]

    status, _, _ = await root.post(base + "/delete", {"csrf": csrf})
    assert status == 303 and "No webhooks." in (await root.get(PAGE))[1]

    # A refused URL is explained on the page, nothing stored.
    bad = {"csrf": csrf, "url": "https://10.0.0.1/hook", "events": "message.created"}
    status, html, _ = await root.post(PAGE, bad)
    assert status == 422 and "private network" in html
    assert "No webhooks." in (await root.get(PAGE))[1]


async def test_the_webhooks_page_speaks_russian(
    hub: RunningHub, root: Browser, root_api: Api
) -> None:
    async with hub.hub.db.session() as session:
        await do_set_operator_locale(session, root_api.operator_id, "ru")
        await session.commit()
    status, html, _ = await root.get(PAGE)
    assert status == 200 and "Вебхуков нет." in html and "Добавить вебхук" in html


async def _received(receiver: WebhookReceiver) -> list[Received] | None:
    return list(receiver.received) or None
