"""SMS and WhatsApp in: the real webhook endpoint, signatures, dedupe, identity twins."""

from __future__ import annotations

import asyncio
import io

from hub.models import Message
from tests.factories import conversations_of, count, customer_of, messages_of
from tests.fakes.twilio_api import sign
from tests.support import RunningHub, eventually
from tests.support.twilio import PUBLIC_URL, post_form, sms, whatsapp

MESSAGES = "/webhooks/twilio/messages"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def test_an_sms_lands_in_the_thread_and_twilio_gets_empty_twiml(
    twilio_hub: RunningHub,
) -> None:
    status, text, content_type = await post_form(twilio_hub, MESSAGES, sms("+14155550101", "hi"))
    assert (status, text, content_type) == (200, EMPTY_TWIML, "text/xml")
    [stored] = await eventually(
        lambda: messages_of(twilio_hub.hub, channel="sms", direction="inbound")
    )
    assert stored.text == "hi" and stored.address == "+14155550101"
    assert stored.external_id is not None and stored.external_id.startswith("SM")


async def test_sms_and_whatsapp_from_one_phone_are_one_customer_and_one_thread(
    twilio_hub: RunningHub,
) -> None:
    await post_form(twilio_hub, MESSAGES, sms("+14155550102", "by sms"))
    await eventually(lambda: messages_of(twilio_hub.hub, channel="sms", direction="inbound"))
    await post_form(twilio_hub, MESSAGES, whatsapp("+14155550102", "by whatsapp"))
    [wa] = await eventually(
        lambda: messages_of(twilio_hub.hub, channel="whatsapp", direction="inbound")
    )
    [sm] = await messages_of(twilio_hub.hub, channel="sms", direction="inbound")
    assert wa.address == "+14155550102"
    assert wa.customer_id == sm.customer_id and wa.conversation_id == sm.conversation_id
    customer = await customer_of(twilio_hub.hub, "whatsapp", "+14155550102")
    assert customer is not None and customer.name == "Maria Lopez"  # ProfileName fills it
    assert len(await conversations_of(twilio_hub.hub, customer.id or 0)) == 1


async def test_a_bad_or_missing_signature_is_refused_and_nothing_stored(
    twilio_hub: RunningHub,
) -> None:
    fields = sms("+14155550103", "forged")
    assert (await post_form(twilio_hub, MESSAGES, fields, signature="bm9wZQ=="))[0] == 403
    assert (await post_form(twilio_hub, MESSAGES, fields, signature=""))[0] == 403
    # Signed over the internal address instead of HUB_PUBLIC_URL: refused as well.
    internal = f"{twilio_hub.url}{MESSAGES}"
    assert (await post_form(twilio_hub, MESSAGES, fields, signed_url=internal))[0] == 403
    # A valid signature of other parameters: the body was changed on the way.
    tampered = {**fields, "Body": "changed"}
    header = sign(PUBLIC_URL + MESSAGES, fields)
    assert (await post_form(twilio_hub, MESSAGES, tampered, signature=header))[0] == 403
    assert await twilio_hub.hub.queue.depth("inbound") == 0
    assert await count(twilio_hub.hub, Message) == 0


async def test_the_query_string_is_part_of_the_signed_url(twilio_hub: RunningHub) -> None:
    path = f"{MESSAGES}?source=console&x=%20y"
    assert (await post_form(twilio_hub, path, sms("+14155550104", "q")))[0] == 200
    await eventually(lambda: messages_of(twilio_hub.hub, channel="sms", direction="inbound"))


async def test_a_repeat_of_one_messagesid_is_answered_alike_and_stored_once(
    twilio_hub: RunningHub,
) -> None:
    fields = sms("+14155550105", "once")
    answers = await asyncio.gather(*(post_form(twilio_hub, MESSAGES, fields) for _ in range(4)))
    assert {a[:2] for a in answers} == {(200, EMPTY_TWIML)}
    await eventually(lambda: messages_of(twilio_hub.hub, channel="sms", direction="inbound"))
    assert (await post_form(twilio_hub, MESSAGES, fields))[:2] == (200, EMPTY_TWIML)

    async def drained() -> bool:
        return await twilio_hub.hub.queue.depth("inbound") == 0

    await eventually(drained, what="inbound queue drained")
    assert len(await messages_of(twilio_hub.hub, channel="sms", direction="inbound")) == 1


async def test_bodies_that_are_not_twilio_forms_get_a_clear_4xx(twilio_hub: RunningHub) -> None:
    url = f"{twilio_hub.url}{MESSAGES}"
    headers = {"X-Twilio-Signature": "x"}
    async with twilio_hub.http.post(url, json={"From": "+1"}, headers=headers) as answer:
        assert answer.status == 415
    form_type = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    async with twilio_hub.http.post(url, data=io.BytesIO(b"x" * (1024 * 1024 + 10)),
                                    headers=form_type) as answer:  # fmt: skip
        assert answer.status == 413
    # Signed, well-formed, but nothing to thread: acknowledged and dropped.
    no_sender = {k: v for k, v in sms("+14155550106", "x").items() if k != "From"}
    assert (await post_form(twilio_hub, MESSAGES, no_sender))[:2] == (200, EMPTY_TWIML)
    assert await twilio_hub.hub.queue.depth("inbound") == 0
    assert await count(twilio_hub.hub, Message) == 0


async def test_invalid_utf8_in_a_form_is_refused(twilio_hub: RunningHub) -> None:
    url = f"{twilio_hub.url}{MESSAGES}"
    headers = {"X-Twilio-Signature": "x", "Content-Type": "application/x-www-form-urlencoded"}
    async with twilio_hub.http.post(url, data=b"From=%2B1&Body=\xff\xfe", headers=headers) as a:
        assert a.status in (400, 403)
    assert await count(twilio_hub.hub, Message) == 0
