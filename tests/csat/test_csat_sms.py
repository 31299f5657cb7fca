"""CSAT on SMS through the fake Twilio API: asked once on resolve, a bare rating within the
window answers it (thanked once, conversation stays resolved), anything else reopens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.models import Conversation, CsatRating
from hub.models.base import utcnow
from tests.factories import messages_of
from tests.fakes.twilio_api import FakeTwilioAPI, TwilioCall
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import Api, make_api
from tests.support.twilio import post_form, sms

MESSAGES = "/webhooks/twilio/messages"


@pytest.fixture
async def csat_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    from tests.support.twilio import twilio_settings

    settings = twilio_settings(backend_urls, fake_twilio.base_url, csat=True)
    settings.check()
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def _texts(running: RunningHub, phone: str, body: str) -> int:
    fields = sms(phone, body)
    assert (await post_form(running, MESSAGES, fields))[0] == 200
    [stored] = await eventually(
        lambda: messages_of(
            running.hub, channel="sms", direction="inbound", external_id=fields["MessageSid"]
        )
    )
    return stored.conversation_id


async def _sent(fake: FakeTwilioAPI, to: str, start: str, n: int = 1) -> list[TwilioCall]:
    async def probe() -> list[TwilioCall]:
        found = [c for c in fake.sent if c.to == to and (c.body or "").startswith(start)]
        return found if len(found) >= n else []

    return await eventually(probe, what=f"{n} send(s) to {to} starting {start!r}")


async def _ratings(running: RunningHub, conversation_id: int) -> list[CsatRating]:
    async with running.hub.db.session() as session:
        rows = await session.scalars(
            select(CsatRating).where(CsatRating.conversation_id == conversation_id)  # type: ignore[arg-type]
        )
        return list(rows)


async def _resolve(api: Api, conversation_id: int) -> None:
    await api.ok("POST", f"/conversations/{conversation_id}/status", {"status": "resolved"})


async def test_csat_is_asked_on_resolve_and_a_bare_digit_answers_it(
    csat_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    api = await make_api(csat_hub, "ann@example.test", "Ann")
    phone = "+14155550301"
    conversation_id = await _texts(csat_hub, phone, "my parcel is late")
    assign = {"operator_id": api.operator_id}
    await api.ok("POST", f"/conversations/{conversation_id}/assign", assign)
    await _resolve(api, conversation_id)
    [question] = await _sent(fake_twilio, phone, "Your conversation with us is resolved")
    assert "1 (poor) to 5 (excellent)" in (question.body or "")
    await _resolve(api, conversation_id)  # already resolved: not asked again
    [asked] = await _ratings(csat_hub, conversation_id)
    assert asked.rating is None and asked.operator_id == api.operator_id
    assert asked.channel == "sms"

    assert await _texts(csat_hub, phone, "4/5") == conversation_id  # joins the rated thread
    [thanks] = await _sent(fake_twilio, phone, "Thank you for your rating (4/5)")
    [rated] = await eventually(lambda: _rated(csat_hub, conversation_id), what="the rating stored")
    assert rated.rating == 4 and rated.answered_at is not None
    conversation = await api.get(f"/conversations/{conversation_id}")
    assert conversation["status"] == "resolved"

    # Answered: the next "5" is an ordinary message, in a new conversation, never thanked.
    again = await _texts(csat_hub, phone, "5")
    assert again != conversation_id
    assert (await api.get(f"/conversations/{again}"))["status"] == "open"
    assert len([c for c in fake_twilio.sent if (c.body or "").startswith("Thank you")]) == 1
    assert thanks.body


async def _rated(running: RunningHub, conversation_id: int) -> list[CsatRating]:
    return [r for r in await _ratings(running, conversation_id) if r.rating is not None]


async def test_anything_but_a_rating_reopens_for_a_human_and_leaves_the_question_open(
    csat_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    api = await make_api(csat_hub, "bob@example.test", "Bob")
    phone = "+14155550302"
    conversation_id = await _texts(csat_hub, phone, "привет, где заказ?")
    await _resolve(api, conversation_id)
    [question] = await _sent(fake_twilio, phone, "Ваше обращение решено")
    assert "цифрой от 1" in (question.body or "")
    new = await _texts(csat_hub, phone, "5 дней жду, где он?")
    assert new != conversation_id
    assert (await api.get(f"/conversations/{new}"))["status"] == "open"
    [asked] = await _ratings(csat_hub, conversation_id)
    assert asked.rating is None


async def test_a_rating_after_the_window_or_from_another_number_is_a_message(
    csat_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    api = await make_api(csat_hub, "cy@example.test", "Cy")
    phone, stranger = "+14155550303", "+14155550304"
    conversation_id = await _texts(csat_hub, phone, "hello")
    await _resolve(api, conversation_id)
    await _sent(fake_twilio, phone, "Your conversation with us is resolved")
    # A stranger's "5" never rates someone else's conversation.
    assert await _texts(csat_hub, stranger, "5") != conversation_id
    async with csat_hub.hub.db.session() as session:
        await session.execute(
            update(CsatRating)
            .where(CsatRating.conversation_id == conversation_id)  # type: ignore[arg-type]
            .values(expires_at=utcnow())
        )
        await session.commit()
    late = await _texts(csat_hub, phone, "5")
    assert late != conversation_id
    [asked] = await _ratings(csat_hub, conversation_id)
    assert asked.rating is None
    async with csat_hub.hub.db.session() as session:
        still = await session.get(Conversation, conversation_id)
        assert still is not None and still.status == "resolved"


@pytest.fixture
async def csat_bot_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    from tests.support.twilio import twilio_settings

    settings = twilio_settings(backend_urls, fake_twilio.base_url, csat=True, bots=True)
    settings.check()
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_with_the_bots_on_a_rating_is_thanked_by_the_hub_not_answered_by_a_bot(
    csat_bot_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    api = await make_api(csat_bot_hub, "dan@example.test", "Dan")
    phone = "+14155550305"
    conversation_id = await _texts(csat_bot_hub, phone, "operator please")
    await _sent(fake_twilio, phone, "I'm passing you to a colleague")
    await _resolve(api, conversation_id)
    await _sent(fake_twilio, phone, "Your conversation with us is resolved")
    before = len([c for c in fake_twilio.sent if c.to == phone])
    assert await _texts(csat_bot_hub, phone, "5 ⭐") == conversation_id
    await _sent(fake_twilio, phone, "Thank you for your rating (5/5)")
    # The thanks is the only answer: no bot reply, and no bot note, joins the thread.
    messages = await api.get(f"/conversations/{conversation_id}/messages")
    after_rating = [m for m in messages["items"] if m["id"] > 0][-2:]
    assert [m["sender_type"] for m in after_rating] == ["customer", "system"]
    assert len([c for c in fake_twilio.sent if c.to == phone]) == before + 1
