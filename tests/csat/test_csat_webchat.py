"""CSAT in the web chat over a real socket: the question comes as a `csat` frame with its
buttons, a `{"type":"csat","rating":N}` frame answers it once, and only the visitor asked."""

from __future__ import annotations

import re

import aiohttp
import pytest

from hub.models import CsatRating
from tests.factories import messages_of
from tests.support import RunningHub, eventually
from tests.support.api import Browser, make_api
from tests.support.webchat import open_chat, receive


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"csat": True}


async def test_the_widget_gets_star_buttons_and_its_rating_is_stored_once(
    hub: RunningHub,
) -> None:
    api = await make_api(hub, "dora@example.test", "Dora")
    ws, _ = await open_chat(hub)
    await ws.send_json({"type": "message", "text": "Can I change my address?", "client_id": "a"})
    await receive(ws, "ack")
    [first] = await messages_of(hub.hub, channel="webchat")
    path = f"/conversations/{first.conversation_id}/status"
    await api.ok("POST", path, {"status": "resolved"})

    asked = await receive(ws, "csat")
    assert asked["conversation_id"] == first.conversation_id and asked["rating"] is None
    assert "Tap a star from 1 (poor) to 5 (excellent)" in asked["question"]

    # A stranger's socket has no question to answer, whatever conversation it names.
    other, _ = await open_chat(hub)
    await other.send_json({"type": "csat", "rating": 1, "conversation_id": first.conversation_id})
    assert (await receive(other, "error"))["code"] == "csat_closed"
    await other.close()

    for bad in ({"type": "csat", "rating": 6}, {"type": "csat", "rating": True}):
        await ws.send_json(bad)
        assert (await receive(ws, "error"))["code"] == "invalid_rating"

    await ws.send_json({"type": "csat", "rating": 5, "conversation_id": first.conversation_id})
    # The pressed button's answer and the thanks (sent through the outbound queue) may
    # arrive in either order.
    frames: dict[str, dict[str, object]] = {}
    while len(frames) < 2:
        frame = await ws.receive_json(timeout=10)
        if frame["type"] in ("csat", "message"):
            frames[frame["type"]] = frame
    answered, thanks = frames["csat"], frames["message"]
    assert answered["rating"] == 5 and answered["id"] == asked["id"]
    assert str(thanks["text"]).startswith("Thank you for your rating (5/5)")

    await ws.send_json({"type": "csat", "rating": 2})  # once per resolution
    assert (await receive(ws, "error"))["code"] == "csat_closed"
    conversation = await api.get(f"/conversations/{first.conversation_id}")
    assert conversation["status"] == "resolved"
    await ws.close()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        inbox = Browser(hub, http)
        assert await inbox.sign_in(api.email) == 303
        _, page, _ = await inbox.get(f"/inbox/conversations/{first.conversation_id}")
    line = re.search(r'<p class="csat-line" data-csat="5"[^>]*>(.*?)</p>', page, re.S)
    assert line and "Rated 5/5" in line.group(1)  # in the thread, after the question
    card = page[page.index("data-csat-ratings") :]
    assert "Rated 5/5" in card[: card.index("</ul>")]  # and in the customer card


async def test_a_reconnecting_visitor_gets_the_open_question_back(hub: RunningHub) -> None:
    api = await make_api(hub, "eve@example.test", "Eve")
    ws, welcome = await open_chat(hub)
    await ws.send_json({"type": "message", "text": "hello", "client_id": "b"})
    await receive(ws, "ack")
    [first] = await messages_of(hub.hub, channel="webchat")
    await api.ok("POST", f"/conversations/{first.conversation_id}/status", {"status": "resolved"})
    asked = await receive(ws, "csat")
    await ws.close()

    again, welcome = await open_chat(hub, welcome["visitor_token"])
    assert asked["id"] in [m["id"] for m in welcome["history"]]
    offered = await receive(again, "csat")
    assert offered["id"] == asked["id"] and offered["rating"] is None
    await again.send_json({"type": "csat", "rating": 3})
    assert (await receive(again, "csat"))["rating"] == 3
    await eventually(lambda: _rated(hub, first.conversation_id), what="the rating stored")
    await again.close()


async def _rated(hub: RunningHub, conversation_id: int) -> bool:
    from sqlalchemy import select

    async with hub.hub.db.session() as session:
        rows = await session.scalars(
            select(CsatRating).where(
                CsatRating.conversation_id == conversation_id,  # type: ignore[arg-type]
                CsatRating.rating == 3,  # type: ignore[arg-type]
            )
        )
        return rows.first() is not None


async def test_an_expired_question_cannot_be_answered_and_the_thread_says_so(
    hub: RunningHub,
) -> None:
    from sqlalchemy import update

    from hub.models.base import utcnow

    api = await make_api(hub, "fay@example.test", "Fay")
    ws, _ = await open_chat(hub)
    await ws.send_json({"type": "message", "text": "thanks, bye", "client_id": "c"})
    await receive(ws, "ack")
    [first] = await messages_of(hub.hub, channel="webchat")
    await api.ok("POST", f"/conversations/{first.conversation_id}/status", {"status": "resolved"})
    await receive(ws, "csat")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        inbox = Browser(hub, http)
        assert await inbox.sign_in(api.email) == 303
        thread = f"/inbox/conversations/{first.conversation_id}"
        assert "Satisfaction asked, no answer yet" in (await inbox.get(thread))[1]
        async with hub.hub.db.session() as session:
            await session.execute(
                update(CsatRating)
                .where(CsatRating.conversation_id == first.conversation_id)  # type: ignore[arg-type]
                .values(expires_at=utcnow())
            )
            await session.commit()
        await ws.send_json({"type": "csat", "rating": 4})
        assert (await receive(ws, "error"))["code"] == "csat_closed"
        assert "Satisfaction asked, not answered" in (await inbox.get(thread))[1]
    await ws.close()
