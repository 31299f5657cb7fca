"""An SMS reply over 1600 characters goes out in parts; when a later part fails, the retry
resumes after the parts Twilio already accepted, so the customer gets each part once."""

from __future__ import annotations

import pytest

from tests.factories import messages_of
from tests.fakes.twilio_api import FakeTwilioAPI, TwilioCall
from tests.support import RunningHub, eventually, operator_reply
from tests.support.twilio import post_form, sms, status_is

LONG_TEXT = " ".join(f"w{n:04d}" for n in range(500))  # 2,999 chars: two parts


@pytest.mark.parametrize("status", [429, 503])
async def test_a_failed_second_sms_part_is_retried_without_the_first(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI, status: int
) -> None:
    to = "+14155550801"
    assert (await post_form(twilio_hub, "/webhooks/twilio/messages", sms(to, "hi")))[0] == 200
    [inbound] = await eventually(lambda: messages_of(twilio_hub.hub, channel="sms"))

    async def fail_the_next_part(call: TwilioCall) -> None:
        fake_twilio.before_answer = None
        fake_twilio.fail_next(status)  # once the first part is accepted

    fake_twilio.before_answer = fail_the_next_part
    message_id = await operator_reply(twilio_hub, inbound.conversation_id, LONG_TEXT)
    sent = await eventually(lambda: status_is(twilio_hub, message_id, "sent"), timeout=20)

    parts = [c for c in fake_twilio.sent if c.to == to]
    assert len(parts) == 2
    assert " ".join((c.body or "").strip() for c in parts) == LONG_TEXT
    assert [c.status for c in fake_twilio.calls if c.to == to] == [201, status, 201]
    assert sent.external_id == parts[0].sid
