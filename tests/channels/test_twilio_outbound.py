"""SMS and WhatsApp out: the twilio client against the fake REST API, status callbacks,
splitting, STOP/START and the WhatsApp 24-hour window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from hub.actions.replies import do_reply
from hub.domain.types import SenderType
from hub.errors import WindowClosed
from hub.models import Conversation, Message
from hub.models.base import utcnow
from tests.factories import customer_of, messages_of
from tests.fakes.twilio_api import FakeTwilioAPI, TwilioCall
from tests.support import RunningHub, eventually, operator_reply
from tests.support.api import make_api
from tests.support.twilio import (
    PUBLIC_URL,
    SMS_FROM,
    WHATSAPP_FROM,
    message,
    post_form,
    sms,
    status_callback,
    status_is,
    whatsapp,
)

MESSAGES = "/webhooks/twilio/messages"


async def _writes(running: RunningHub, fields: dict[str, str], channel: str) -> Message:
    assert (await post_form(running, MESSAGES, fields))[0] == 200
    found = await eventually(
        lambda: messages_of(running.hub, channel=channel, external_id=fields["MessageSid"])
    )
    return found[0]


async def _sent_to(fake: FakeTwilioAPI, to: str, text: str) -> list[TwilioCall]:
    async def probe() -> list[TwilioCall]:
        return [c for c in fake.sent if c.to == to and (c.body or "").startswith(text)]

    return await eventually(probe, what=f"a send to {to}")


async def test_a_reply_leaves_by_sms_with_a_status_callback_and_moves_forward_only(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, sms("+14155550201", "hello?"), "sms")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "Hello from us")
    [call] = await _sent_to(fake_twilio, "+14155550201", "Hello from us")
    assert call.fields["From"] == SMS_FROM
    callback = f"{PUBLIC_URL}/webhooks/twilio/status?hub_message={message_id}"
    assert call.fields["StatusCallback"] == callback
    sent = await eventually(lambda: status_is(twilio_hub, message_id, "sent"))
    assert sent.external_id == call.sid
    assert await status_callback(twilio_hub, call.sid or "", "delivered") == 200
    await eventually(lambda: status_is(twilio_hub, message_id, "delivered"))
    assert await status_callback(twilio_hub, call.sid or "", "sent") == 200  # late, out of order
    assert (await message(twilio_hub, message_id)).status == "delivered"
    assert await status_callback(twilio_hub, call.sid or "", "queued") == 200
    assert (await message(twilio_hub, message_id)).status == "delivered"  # never backwards
    assert await status_callback(twilio_hub, "SM" + "f" * 32, "read") == 200  # unknown sid
    assert (await message(twilio_hub, message_id)).status == "delivered"  # and not ours


async def test_a_status_callback_before_the_send_is_answered_still_counts(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    """Twilio may call back before the hub has stored the MessageSid its create returned:
    the callback URL names the hub's message, so the status is not lost."""
    answers: list[int] = []

    async def call_back_first(call: TwilioCall) -> None:
        url = call.fields["StatusCallback"]
        fields = {"MessageSid": call.sid or "", "MessageStatus": "delivered"}
        path = url.removeprefix(PUBLIC_URL)
        answers.append((await post_form(twilio_hub, path, fields, signed_url=url))[0])

    fake_twilio.before_answer = call_back_first
    inbound = await _writes(twilio_hub, sms("+14155550209", "quick?"), "sms")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "Very quick")
    [call] = await _sent_to(fake_twilio, "+14155550209", "Very quick")

    async def delivered_with_its_sid() -> Message | None:
        found = await status_is(twilio_hub, message_id, "delivered")
        return found if found is not None and found.external_id is not None else None

    delivered = await eventually(delivered_with_its_sid)
    assert answers == [200]
    assert delivered.external_id == call.sid  # stored although the status was already further
    forged = f"{PUBLIC_URL}/webhooks/twilio/status?hub_message={inbound.id}"
    fields = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "failed"}
    assert (
        await post_form(twilio_hub, forged.removeprefix(PUBLIC_URL), fields, signed_url=forged)
    )[0] == 200
    assert (await message(twilio_hub, inbound.id or 0)).status == "received"  # inbound untouched


async def test_a_status_callback_with_a_bad_signature_changes_nothing(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, sms("+14155550202", "hi"), "sms")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "Reply")
    [call] = await _sent_to(fake_twilio, "+14155550202", "Reply")
    await eventually(lambda: status_is(twilio_hub, message_id, "sent"))
    fields = {"MessageSid": call.sid or "", "MessageStatus": "delivered"}
    code, _, _ = await post_form(
        twilio_hub, "/webhooks/twilio/status", fields, signature="Zm9yZ2Vk"
    )
    assert code == 403
    assert (await message(twilio_hub, message_id)).status == "sent"


async def test_an_undelivered_whatsapp_shows_twilios_error_code(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, whatsapp("+14155550203", "hola"), "whatsapp")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "Buenas")
    [call] = await _sent_to(fake_twilio, "whatsapp:+14155550203", "Buenas")
    assert call.fields["From"] == WHATSAPP_FROM
    await eventually(lambda: status_is(twilio_hub, message_id, "sent"))
    await status_callback(
        twilio_hub, call.sid or "", "undelivered", ErrorCode="63016", ErrorMessage="Outside window"
    )
    failed = await eventually(lambda: status_is(twilio_hub, message_id, "failed"))
    assert failed.error is not None and "63016" in failed.error and "24 h" in failed.error


async def test_a_long_sms_goes_out_in_order_in_parts_of_at_most_1600(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, sms("+14155550204", "tell me everything"), "sms")
    text = " ".join(f"w{i:04d}" for i in range(700))  # 4199 characters
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, text)
    await eventually(lambda: status_is(twilio_hub, message_id, "sent"))
    calls = [c for c in fake_twilio.sent if c.to == "+14155550204" and (c.body or "") in text]
    parts = [c.body or "" for c in calls]
    assert len(parts) == 3 and all(len(p) <= 1600 for p in parts)
    assert "".join(parts) == text
    assert (await message(twilio_hub, message_id)).external_id == calls[0].sid


async def test_stop_opts_the_number_out_and_start_opts_it_back_in(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    phone = "+14155550205"
    inbound = await _writes(twilio_hub, sms(phone, "Stop"), "sms")

    async def opted_out() -> bool:
        async with twilio_hub.hub.db.session() as session:
            from sqlalchemy import select

            from hub.models import Identity

            flag = await session.scalar(
                select(Identity.opted_out).where(  # type: ignore[call-overload]
                    Identity.channel == "sms", Identity.address == phone
                )
            )
        return bool(flag)

    assert await eventually(opted_out, what="opt-out stored")
    before = len(fake_twilio.calls)
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "Are you sure?")
    failed = await eventually(lambda: status_is(twilio_hub, message_id, "failed"))
    assert failed.error is not None and "STOP" in failed.error
    assert not [c for c in fake_twilio.calls[before:] if c.body == "Are you sure?"]

    await _writes(twilio_hub, sms(phone, "START"), "sms")
    await eventually(lambda: _not(opted_out), what="opt-in stored")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "Welcome back")
    await eventually(lambda: status_is(twilio_hub, message_id, "sent"))


async def _nothing_queued(running: RunningHub) -> bool:
    return not await messages_of(running.hub, status="queued")


async def _not(probe: object) -> bool:
    return not await probe()  # type: ignore[operator]


async def test_429_and_5xx_are_retried_and_a_4xx_ends_failed_with_the_code(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, sms("+14155550206", "hi"), "sms")
    await eventually(lambda: _nothing_queued(twilio_hub), what="any bot answer sent")
    fake_twilio.fail_next(429, 20429, "Too Many Requests")
    fake_twilio.fail_next(503, 20503, "Service unavailable")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "third time")
    await eventually(lambda: status_is(twilio_hub, message_id, "sent"), timeout=20)
    assert [c.status for c in fake_twilio.calls if c.fields.get("Body") == "third time"] == [
        429,
        503,
        201,
    ]
    fake_twilio.unsubscribed.add("+14155550206")
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, "refused")
    failed = await eventually(lambda: status_is(twilio_hub, message_id, "failed"))
    assert failed.error is not None and "21610" in failed.error


async def _age_whatsapp(running: RunningHub, hours: float) -> None:
    async with running.hub.db.session() as session:
        await session.execute(
            update(Message)
            .where(Message.channel == "whatsapp")  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(hours=hours))
        )
        await session.commit()


async def test_whatsapp_outside_24_hours_is_a_409_naming_the_window(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, whatsapp("+14155550207", "hello"), "whatsapp")
    await _age_whatsapp(twilio_hub, 25)
    api = await make_api(twilio_hub, "agent@shop.test", "Agent")
    path = f"/conversations/{inbound.conversation_id}/messages"
    status, body, _ = await api.call("POST", path, {"text": "late answer"})
    assert status == 409 and body["error"]["code"] == "window_closed"
    assert "24" in body["error"]["message"] and "WhatsApp" in body["error"]["message"]
    # Another channel of the same customer is fine: the twin SMS identity.
    status, body, _ = await api.call("POST", path, {"text": "by sms then", "channel": "sms"})
    assert status == 201, body
    await _sent_to(fake_twilio, "+14155550207", "by sms then")


async def test_a_template_is_sent_outside_the_window_instead_of_free_text(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    inbound = await _writes(twilio_hub, whatsapp("+14155550208", "hello"), "whatsapp")
    await _age_whatsapp(twilio_hub, 30)
    template = "HX" + "a" * 32
    async with twilio_hub.hub.db.session() as session:
        conversation = await session.get(Conversation, inbound.conversation_id)
        assert conversation is not None
        with pytest.raises(WindowClosed):
            await do_reply(session, conversation, "free text", sender_type=SenderType.OPERATOR)
        await session.rollback()
    async with twilio_hub.hub.db.session() as session:
        conversation = await session.get(Conversation, inbound.conversation_id)
        assert conversation is not None
        stored, job = await do_reply(
            session,
            conversation,
            "Your order 1042 has shipped",
            sender_type=SenderType.BOT,
            content_sid=template,
        )
        await session.commit()
    assert job is not None and stored.id is not None
    from hub.queue.port import OUTBOUND

    await twilio_hub.hub.queue.enqueue(OUTBOUND, [job])
    await eventually(lambda: status_is(twilio_hub, stored.id or 0, "sent"))
    [call] = [c for c in fake_twilio.sent if c.fields.get("ContentSid") == template]
    assert "Body" not in call.fields and "1042" in call.fields["ContentVariables"]
    assert await customer_of(twilio_hub.hub, "whatsapp", "+14155550208") is not None
