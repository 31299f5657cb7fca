"""The inbox's pages and forms over plain HTTP: filters, state changes, admin, canned."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import aiohttp

from hub.actions.canned import do_create_canned
from hub.actions.operators import do_create_operator
from hub.models import Conversation
from tests.factories import messages_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import PASSWORD, Api, Browser, customer_writes
from tests.support.inbox import row_ids


async def test_the_list_filters_by_status_channel_assignee_label_and_search(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    a = await customer_writes(hub, 9001, "my parcel is late", first_name="Olga")
    b = await customer_writes(hub, 9002, "invoice please", first_name="Boris")
    await api.ok(
        "POST", f"/conversations/{a.conversation_id}/assign", {"operator_id": api.operator_id}
    )
    await api.ok("POST", f"/conversations/{b.conversation_id}/labels", {"labels": ["billing"]})
    await api.ok("POST", f"/conversations/{b.conversation_id}/status", {"status": "resolved"})

    async def listed(query: str) -> list[int]:
        status, html, _ = await agent.get("/inbox" + query)
        assert status == 200, html[:300]
        return row_ids(html)

    assert await listed("") == [a.conversation_id]  # open only, by default
    assert await listed("?status=all") == [b.conversation_id, a.conversation_id]
    assert await listed("?status=resolved") == [b.conversation_id]
    assert await listed("?status=all&assignee=me") == [a.conversation_id]
    assert await listed("?status=all&assignee=none") == [b.conversation_id]
    assert await listed("?status=all&label=billing") == [b.conversation_id]
    assert await listed("?status=all&channel=sms") == []
    assert await listed("?status=all&q=PARCEL") == [a.conversation_id]
    assert await listed("?status=all&q=boris") == [b.conversation_id]
    assert await listed("?status=bogus&channel=<x>") == [a.conversation_id]  # ignored
    _, html, _ = await agent.get("/inbox")
    assert re.search(r'data-tab="open"[^>]*>Open <span class="count">1<', html)
    assert re.search(r'data-tab="resolved"[^>]*>Resolved <span class="count">1<', html)


async def test_opening_a_thread_clears_its_unread_marker_until_the_customer_writes_again(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    first = await customer_writes(hub, 9101, "hello?")
    _, html, _ = await agent.get("/inbox")
    assert "data-unread" in html
    await agent.get(f"/inbox/conversations/{first.conversation_id}")
    _, html, _ = await agent.get("/inbox")
    assert "data-unread" not in html
    await customer_writes(hub, 9101, "anyone there?")
    _, html, _ = await agent.get("/inbox")
    assert "data-unread" in html
    await agent.get(f"/inbox/conversations/{first.conversation_id}")
    _, html, _ = await agent.get("/inbox")
    assert "data-unread" not in html


async def test_state_forms_assign_snooze_hand_back_and_reply_through_the_chosen_channel(
    hub: RunningHub, api: Api, agent: Browser, fake_telegram: FakeTelegramAPI
) -> None:
    message = await customer_writes(hub, 9201, "hi")
    thread = f"/inbox/conversations/{message.conversation_id}"
    token = await agent.csrf()
    _, html, _ = await agent.get(thread)
    picker = re.search(r'<select name="channel" data-channel>(.*?)</select>', html, re.DOTALL)
    assert picker and re.findall(r'value="(\w+)" selected', picker.group(1)) == ["telegram"]

    until = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    for action, form in (
        ("assign", {"operator_id": "me"}),
        ("status", {"status": "snoozed", "snooze_until": until, "tz_offset": "0"}),
        ("bot", {"bot_active": "0"}),
    ):
        status, body, _ = await agent.post(f"{thread}/{action}", {**form, "csrf": token})
        assert status == 303, (action, body[:300])
    async with hub.hub.db.session() as session:
        conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    assert conversation.assignee_id == api.operator_id and conversation.status == "snoozed"
    assert conversation.snooze_until is not None and conversation.bot_active is False

    status, body, _ = await agent.post(
        f"{thread}/status", {"status": "snoozed", "snooze_until": "yesterday", "csrf": token}
    )
    assert status == 422 and "snooze" in body
    status, body, _ = await agent.post(
        f"{thread}/reply",
        {"text": "via sms?", "channel": "sms", "csrf": token},
        headers={"Hub-Fetch": "1"},
    )
    assert status == 422 and "sms" in body

    async with hub.hub.db.session() as session:
        await do_create_canned(session, "hours", "We answer 9-18 every day.")
        await session.commit()
    status, _, _ = await agent.post(f"{thread}/reply", {"text": "/hours", "csrf": token})
    assert status == 303
    sent = await fake_telegram.wait_for_sent(lambda m: m.text == "We answer 9-18 every day.")
    assert sent.chat_id == 9201


async def test_only_admins_manage_operators_and_canned_responses(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    status, _, _ = await agent.get("/inbox/admin")
    assert status == 403
    token = await agent.csrf()
    status, _, _ = await agent.post(
        "/inbox/admin/canned", {"shortcut": "x", "text": "y", "csrf": token}
    )
    assert status == 403

    async with hub.hub.db.session() as session:
        await do_create_operator(
            session, email="boss@shop.test", name="Boss", role="admin", password=PASSWORD
        )
        await session.commit()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        admin = Browser(hub, http)
        assert await admin.sign_in("boss@shop.test") == 303
        token = await admin.csrf()
        status, _, _ = await admin.post(
            "/inbox/admin/canned", {"shortcut": "/bye", "text": "Bye!", "csrf": token}
        )
        assert status == 303
        status, _, _ = await admin.post(
            "/inbox/admin/operators",
            {
                "name": "Kim",
                "email": "kim@shop.test",
                "role": "agent",
                "password": PASSWORD,
                "csrf": token,
            },
        )
        assert status == 303
        status, html, _ = await admin.get("/inbox/admin")
        assert status == 200 and 'data-shortcut="bye"' in html and "kim@shop.test" in html
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert await Browser(hub, http).sign_in("kim@shop.test") == 303


async def test_rename_and_merge_keep_everything(hub: RunningHub, api: Api, agent: Browser) -> None:
    one = await customer_writes(hub, 9301, "first")
    two = await customer_writes(hub, 9302, "second")
    token = await agent.csrf()
    status, _, _ = await agent.post(
        f"/inbox/customers/{one.customer_id}/name", {"name": "  Ivan   the Buyer ", "csrf": token}
    )
    assert status == 303
    status, html, _ = await agent.get(
        f"/inbox/customers/{one.customer_id}/merge?other={two.customer_id}"
    )
    assert status == 200 and "data-merge-confirm" in html
    status, _, _ = await agent.post(
        f"/inbox/customers/{one.customer_id}/merge",
        {"other_id": str(two.customer_id), "csrf": token, "back": "https://evil.test/"},
    )
    assert status == 303
    customer = await api.get(f"/customers/{one.customer_id}")
    assert customer["name"] == "Ivan the Buyer"
    assert {c["id"] for c in customer["conversations"]} == {
        one.conversation_id,
        two.conversation_id,
    }
    assert len(customer["identities"]) == 2
    moved = await eventually(lambda: messages_of(hub.hub, customer_id=one.customer_id))
    assert {m.text for m in moved} >= {"first", "second"}


async def test_the_inbox_has_an_icon_and_favicon_ico_finds_it(hub: RunningHub) -> None:
    async with hub.http.get(f"{hub.url}/inbox/login") as page:
        html = await page.text()
    [icon] = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    async with hub.http.get(f"{hub.url}/favicon.ico") as found:  # what browsers ask first
        assert found.status == 200
        assert found.content_type == "image/svg+xml"
        assert found.url.path == icon
        assert (await found.read()).startswith(b"<svg")
