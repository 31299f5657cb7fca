"""SMS STOP/START keywords are for the hub (opt-out), never a question for the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.factories import messages_of
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import make_api
from tests.support.people import settled
from tests.support.twilio import post_form, sms, twilio_settings


@pytest.fixture
async def sms_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    running = await start_hub(twilio_settings(backend_urls, fake_twilio.base_url, bots=True))
    yield running
    await stop_hub(running)


async def test_stop_gets_no_bot_answer_but_a_question_does(
    sms_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    assert (await post_form(sms_hub, "/webhooks/twilio/messages", sms("+15557770001", "STOP")))[
        0
    ] == 200
    await post_form(sms_hub, "/webhooks/twilio/messages", sms("+15557770002", "hello?"))
    await eventually(
        lambda: messages_of(sms_hub.hub, sender_type="bot", address="+15557770002"),
        what="the bot answering the question",
    )
    await settled(sms_hub)  # inbound jobs are acked only once the bots are done with them
    stop = await eventually(lambda: messages_of(sms_hub.hub, address="+15557770001"))
    assert [m.sender_type for m in stop] == ["customer"]
    bot_anywhere = await messages_of(sms_hub.hub, sender_type="bot")
    stop_conversation = stop[0].conversation_id
    assert not [m for m in bot_anywhere if m.conversation_id == stop_conversation]
    assert not [c for c in fake_twilio.calls if c.to == "+15557770001"]  # nothing sent there


async def test_an_opted_out_number_shows_on_the_customer_in_the_api(sms_hub: RunningHub) -> None:
    await post_form(sms_hub, "/webhooks/twilio/messages", sms("+15557770003", "STOP"))
    [stop] = await eventually(lambda: messages_of(sms_hub.hub, address="+15557770003"))
    api = await make_api(sms_hub, "ops@shop.test", "Ops")

    async def opted_out() -> bool:
        card = await api.get(f"/customers/{stop.customer_id}")
        return any(i["channel"] == "sms" and i["opted_out"] for i in card["identities"])

    await eventually(opted_out, what="the SMS identity marked opted out")


async def test_an_order_notice_to_an_opted_out_number_is_not_queued_and_says_why(
    sms_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    phone = "+15557770004"
    await post_form(sms_hub, "/webhooks/twilio/messages", sms(phone, "STOP"))
    [stop] = await eventually(lambda: messages_of(sms_hub.hub, address=phone))
    api = await make_api(sms_hub, "ops@shop.test", "Ops")

    async def opted_out() -> bool:
        card = await api.get(f"/customers/{stop.customer_id}")
        return any(i["channel"] == "sms" and i["opted_out"] for i in card["identities"])

    await eventually(opted_out, what="the SMS identity marked opted out")
    body = {"customer": {"phone": phone}, "status": "shipped", "notify": True}
    order = await api.ok("PUT", "/orders/8801", body, 201)
    # WhatsApp's window is closed (they never wrote there) and no template is set: only
    # the SMS number could carry it, and it texted STOP.
    assert order["customer_id"] == stop.customer_id
    assert order["notification"] == {"queued": False, "channel": None, "reason": "opted_out"}
    await settled(sms_hub)
    assert await messages_of(sms_hub.hub, sender_type="system") == []
    assert not [c for c in fake_twilio.calls if phone in c.to]
