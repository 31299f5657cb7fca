"""Why the bot spoke: a private bot note beside every bot answer and handoff, shown to
operators in the inbox thread and in the API, never sent to the customer."""

from __future__ import annotations

import html
from typing import Any

import aiohttp

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub
from tests.support.api import Api, Browser, customer_writes
from tests.support.orders import put_order, sent_to
from tests.support.people import settled


async def inbox_thread(running: RunningHub, api: Api, conversation_id: int) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(running, http)
        assert await browser.sign_in(api.email) == 303
        status, page, _ = await browser.get(f"/inbox/conversations/{conversation_id}")
    assert status == 200
    return page


def article(page: str, message_id: int) -> str:
    """The inbox's <article> of one message."""
    return page.split(f'data-message-id="{message_id}"', 1)[1].split("</article>", 1)[0]


async def test_every_bot_answer_and_the_handoff_carry_a_note_in_the_api_and_the_inbox(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "8801", 9301, "in_transit", tracking_url="https://t.example/8801")
    asked = await customer_writes(hub, 9301, "where is my order 8801", language_code="en")
    await customer_writes(hub, 9301, "what colour is the sky")
    await customer_writes(hub, 9301, "I need a human")
    await settled(hub)
    page = await api.get(f"/conversations/{asked.conversation_id}/messages")
    items: list[dict[str, Any]] = page["items"]
    bot = [m for m in items if m["sender_type"] == "bot"]
    # Each public bot message is followed by its note: the status answer, "not understood",
    # then the handoff.
    assert [m["private"] for m in bot] == [False, True] * 3
    notes = [m["text"] for m in bot if m["private"]]
    assert "order status: matched intent order_status (" in notes[0] and "order 8801" in notes[0]
    assert "no bot matched" in notes[1]
    assert "handoff" in notes[2] and "human" in notes[2]
    assert len(sent_to(fake_telegram, 9301)) == 3  # the answers only, never a note
    inbox = await inbox_thread(hub, api, asked.conversation_id)
    for message in bot:
        shown = article(inbox, message["id"])
        assert 'data-sender="bot"' in shown
        assert message["text"] in html.unescape(shown)
        assert f'data-private="{"true" if message["private"] else "false"}"' in shown
