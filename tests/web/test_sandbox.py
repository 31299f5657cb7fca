"""The sandbox (`HUB_SANDBOX=1`): every channel works with no provider account, through the
hub's real webhooks and listener, and the `/sandbox` page shows what the hub sent back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from hub.actions.orders import do_upsert_order
from hub.commands.demo_data import DEMO_ORDERS
from hub.errors import ConfigurationError
from hub.sandbox.config import (
    SANDBOX_MAILBOX,
    provider_url,
    sandboxed_channels,
    with_sandbox_channels,
)
from hub.sandbox.customers import demo_customers
from hub.settings import Settings
from tests.conftest import TELEGRAM_SECRET
from tests.factories import customer_of, messages_of
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.support import RunningHub, eventually, operator_reply, stop_hub
from tests.support.api import Api, Browser, make_api
from tests.support.sandbox import ANNA, sandbox_settings, start_sandbox, stored_inbound


@pytest.fixture
async def sandbox(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    running = await start_sandbox(sandbox_settings(backend_urls))
    yield running
    await stop_hub(running)


@pytest.fixture
async def operator(sandbox: RunningHub) -> AsyncIterator[Browser]:
    await make_api(sandbox, "olga@shop.test", "Olga")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(sandbox, http)
        assert await browser.sign_in("olga@shop.test") == 303
        yield browser


async def csrf_of(browser: Browser) -> str:
    status, html, _ = await browser.get("/sandbox")
    assert status == 200, html[:300]
    found = re.search(r'data-csrf="([^"]+)"', html)
    assert found
    return found.group(1)


async def write_as(
    browser: Browser, channel: str, text: str, customer: str = ANNA, **extra: str
) -> tuple[int, Any]:
    form = {"csrf": await csrf_of(browser), "channel": channel, "customer": customer}
    async with browser.http.post(
        browser.url + "/sandbox/send",
        data={**form, "text": text, **extra},
        headers={"Hub-Fetch": "1"},
    ) as answer:
        return answer.status, await answer.json()


async def exchange_of(browser: Browser, channel: str, customer: str = ANNA, **query: str) -> str:
    params = {"channel": channel, "customer": customer, **query}
    async with browser.http.get(
        browser.url + "/sandbox/exchange", params=params, headers={"Hub-Fetch": "1"}
    ) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.text()


ANNA_ADDRESSES = {
    "telegram": demo_customers()[0].telegram_id,
    "sms": "+15555550142",
    "whatsapp": "+15555550142",
    "email": "anna@demo.test",
}


@pytest.mark.parametrize("channel", ["telegram", "sms", "whatsapp", "email"])
async def test_each_channel_round_trips_between_the_sandbox_and_the_customers_thread(
    sandbox: RunningHub, operator: Browser, channel: str
) -> None:
    text = f"Where is my kettle? ({channel})"
    status, answer = await write_as(operator, channel, text, subject="My kettle")
    assert status == 200 and answer["ok"], answer

    message = await stored_inbound(sandbox, text)
    assert (message.channel, message.address) == (channel, ANNA_ADDRESSES[channel])
    reply = f"It ships tomorrow, Anna ({channel})"
    reply_id = await operator_reply(sandbox, message.conversation_id, reply)

    async def shown() -> str | None:
        html = await exchange_of(operator, channel)
        return html if reply in html.replace("&#39;", "'") else None

    html = await eventually(shown, what="the reply on the sandbox page")
    assert 'data-direction="outbound"' in html and 'data-direction="inbound"' in html
    final = "delivered" if channel in ("sms", "whatsapp") else "sent"

    async def settled() -> bool:
        found = [m for m in await messages_of(sandbox.hub, id=reply_id)]
        return found[0].status == final

    await eventually(settled, what=f"the reply {final}")
    if channel in ("sms", "whatsapp"):
        html = await eventually(
            lambda: _containing(operator, channel, "queued → sent → delivered"),
            what="status ticks on the page",
        )
    if channel == "email":
        assert "Re: My kettle" in html


async def _containing(browser: Browser, channel: str, needle: str) -> str | None:
    html = await exchange_of(browser, channel)
    return html if needle in html else None


async def test_what_a_customer_writes_is_shown_escaped(
    sandbox: RunningHub, operator: Browser
) -> None:
    text = '<script>alert("x")</script> & <b>bold</b>'
    assert (await write_as(operator, "telegram", text))[0] == 200
    await stored_inbound(sandbox, text)
    _, page, _ = await operator.get(f"/sandbox?channel=telegram&customer={ANNA}")
    fragment = await exchange_of(operator, "telegram")
    for html in (page, fragment):
        assert "<script>alert" not in html and "<b>bold" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold" in html


async def test_a_new_customer_gets_an_address_and_bad_ones_are_refused(
    sandbox: RunningHub, operator: Browser
) -> None:
    status, _, response = await operator.get("/sandbox?channel=sms&customer=new&name=Bo")
    assert status == 303
    assert re.search(r"address=%2B1555\d{7}", response.headers["Location"])
    status, answer = await write_as(
        operator, "sms", "hi", customer="new", name="Bo", address="12345"
    )
    assert status == 422 and "E.164" in answer["error"]["message"]
    status, answer = await write_as(operator, "sms", "  ", customer=ANNA)
    assert status == 422
    status, answer = await write_as(operator, "sms", "hello", customer="john-smith")
    assert status == 422 and "no sms address" in answer["error"]["message"]
    assert await messages_of(sandbox.hub) == []
    status, answer = await write_as(
        operator, "whatsapp", "hi from Bo", customer="new", name="Bo", address="+15550007777"
    )
    assert status == 200
    message = await stored_inbound(sandbox, "hi from Bo")
    assert (message.channel, message.address) == ("whatsapp", "+15550007777")


async def test_the_sandbox_needs_an_operator_session_and_csrf(
    sandbox: RunningHub, operator: Browser
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        stranger = Browser(sandbox, http)
        status, _, response = await stranger.get("/sandbox")
        assert status == 303 and response.headers["Location"].startswith("/inbox/login")
        status, _, _ = await stranger.get(
            "/sandbox/exchange?channel=sms&customer=" + ANNA, headers={"Hub-Fetch": "1"}
        )
        assert status == 401
        status, _, _ = await stranger.post(
            "/sandbox/send", {"channel": "sms", "customer": ANNA, "text": "let me in"}
        )
        assert status == 401
    status, _, _ = await operator.post(
        "/sandbox/send", {"channel": "sms", "customer": ANNA, "text": "no csrf", "csrf": "x"}
    )
    assert status == 403
    assert await messages_of(sandbox.hub) == []
    _, page, _ = await operator.get("/sandbox")
    assert "Only signed-in operators can use this page" in page


async def test_the_fake_providers_refuse_wrong_credentials(sandbox: RunningHub) -> None:
    telegram = provider_url(sandbox.settings, "telegram")
    async with sandbox.http.post(
        f"{telegram}/bot1:wrong/sendMessage", data={"chat_id": "1", "text": "x"}
    ) as answer:
        assert answer.status == 401 and (await answer.json())["ok"] is False
    twilio = provider_url(sandbox.settings, "twilio")
    sid = sandbox.settings.twilio_account_sid
    async with sandbox.http.post(
        f"{twilio}/2010-04-01/Accounts/{sid}/Messages.json",
        data={"To": "+15550001", "From": "+15550002", "Body": "x"},
        headers={"Authorization": aiohttp.encode_basic_auth(str(sid), "wrong")},
    ) as answer:
        assert answer.status == 401 and (await answer.json())["code"] == 20003


async def test_sandbox_routes_do_not_exist_when_the_sandbox_is_off(hub: RunningHub) -> None:
    assert not hub.settings.sandbox
    for method, path in (
        ("GET", "/sandbox"),
        ("GET", "/sandbox/exchange?channel=sms&customer=" + ANNA),
        ("POST", "/sandbox/send"),
        ("POST", f"/sandbox/providers/telegram/bot{DEFAULT_TOKEN}/sendMessage"),
        ("POST", "/sandbox/providers/twilio/2010-04-01/Accounts/AC1/Messages.json"),
    ):
        async with hub.http.request(method, hub.url + path) as answer:
            assert answer.status == 404, (method, path)


async def test_a_channel_configured_for_real_stays_real(
    backend_urls: dict[str, Any], fake_telegram: FakeTelegramAPI
) -> None:
    settings = sandbox_settings(
        backend_urls,
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=fake_telegram.base_url,
    )
    assert settings.telegram_api_url == fake_telegram.base_url
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == DEFAULT_TOKEN
    assert sandboxed_channels(settings) == {"sms", "whatsapp", "email"}
    running = await start_sandbox(settings)
    try:
        api: Api = await make_api(running, "olga@shop.test", "Olga")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            browser = Browser(running, http)
            assert await browser.sign_in(api.email) == 303
            _, page, _ = await browser.get("/sandbox?channel=sms&customer=" + ANNA)
            assert re.search(r'value="telegram"\s+disabled', page)
            status, answer = await write_as(browser, "telegram", "to a real bot?")
            assert status == 422 and "not served by the sandbox" in answer["error"]["message"]
        assert await messages_of(running.hub) == [] and fake_telegram.calls == []
    finally:
        await stop_hub(running)


def test_sandbox_values_fill_only_what_the_user_left_unset() -> None:
    off = Settings(_env_file=None, port=8080)  # type: ignore[call-arg]
    assert with_sandbox_channels(off) == off
    on = with_sandbox_channels(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            port=8080,
            sandbox=True,
            email_address="help@shop.test",
            smtp_url="smtp://mail.shop.test:587",
            smtp_listen="0.0.0.0:2525",
        )
    )
    on.check()
    assert on.email_address == "help@shop.test" and on.smtp_listen == "0.0.0.0:2525"
    assert on.telegram_api_url == "http://127.0.0.1:8080/sandbox/providers/telegram"
    assert on.twilio_api_url == "http://127.0.0.1:8080/sandbox/providers/twilio"
    assert sandboxed_channels(on) == {"telegram", "sms", "whatsapp"}
    everything = with_sandbox_channels(
        Settings(_env_file=None, port=8080, sandbox=True)  # type: ignore[call-arg]
    )
    everything.check()
    assert everything.email_address == SANDBOX_MAILBOX
    assert sandboxed_channels(everything) == {"telegram", "sms", "whatsapp", "email"}
    with pytest.raises(ConfigurationError, match="HUB_PORT"):
        with_sandbox_channels(Settings(_env_file=None, port=0, sandbox=True))  # type: ignore[call-arg]


async def test_a_telegram_customer_who_shares_their_phone_hears_about_their_orders(
    backend_urls: dict[str, Any],
) -> None:
    running = await start_sandbox(sandbox_settings(backend_urls, bots=True))
    try:
        async with running.hub.db.session() as session:
            for order in DEMO_ORDERS:
                await do_upsert_order(session, order)
            await session.commit()
        api = await make_api(running, "olga@shop.test", "Olga")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            browser = Browser(running, http)
            assert await browser.sign_in(api.email) == 303
            _, page, _ = await browser.get(f"/sandbox?channel=telegram&customer={ANNA}")
            assert "data-share-contact" in page
            assert (await write_as(browser, "telegram", "", share_contact="1"))[0] == 200

            async def linked() -> bool:
                telegram = await customer_of(running.hub, "telegram", ANNA_ADDRESSES["telegram"])
                sms = await customer_of(running.hub, "sms", "+15555550142")
                return telegram is not None and sms is not None and telegram.id == sms.id

            await eventually(linked, what="the shared phone linking Anna's Telegram")
            assert (await write_as(browser, "telegram", "where is my order 1042?"))[0] == 200
            answer = await eventually(
                lambda: _containing(browser, "telegram", "tracking.demo.test/1042"),
                what="the bot's answer about order 1042",
            )
            assert answer.count('data-direction="outbound"') >= 1

            await api.ok(
                "PUT",
                "/orders/1042",
                {"customer": {"phone": "+15555550142"}, "status": "delivered", "notify": True},
            )

            async def notified() -> bool:
                html = await exchange_of(browser, "telegram")
                outbound = html.split('data-direction="outbound"')[1:]
                return sum("1042" in part for part in outbound) >= 2

            await eventually(notified, what="the order notification on Telegram")
    finally:
        await stop_hub(running)
