"""The reply box's channel picker: every reachable channel, and why one cannot carry a reply."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from hub.models import Message, Operator
from tests.factories import messages_of
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, Browser
from tests.support.twilio import SMS_FROM, WHATSAPP_FROM, post_form, sms, whatsapp

PHONE = "+15557770001"
# Plain http: the inbox's session cookie is Secure behind an https public URL.
PUBLIC_URL = "http://support.example.test"


@pytest.fixture
def settings_overrides(fake_twilio: FakeTwilioAPI) -> dict[str, Any]:
    return {
        "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": SMS_FROM,
        "twilio_whatsapp_from": WHATSAPP_FROM,
        "twilio_api_url": fake_twilio.base_url,
    }


async def customer_texts(running: RunningHub, fields: dict[str, str]) -> Message:
    path = "/webhooks/twilio/messages"
    status, _, _ = await post_form(running, path, fields, signed_url=PUBLIC_URL + path)
    assert status == 200

    async def routed() -> Message | None:
        found = await messages_of(running.hub, text=fields["Body"])
        return found[-1] if found else None

    message = await eventually(routed, what=f"{fields['Body']!r} routed")
    assert message is not None
    return message


def picker(page: str) -> dict[str, tuple[bool, bool, str]]:
    """channel → (selected, disabled, shown text) of the reply box's channel options."""
    found = re.search(r'<select name="channel" data-channel>(.*?)</select>', page, re.S)
    assert found, page[:500]
    options = re.findall(r'<option value="(\w+)"([^>]*)>([^<]*)</option>', found.group(1))
    return {
        value: (" selected" in attrs, " disabled" in attrs, html_lib.unescape(text))
        for value, attrs, text in options
    }


async def whatsapp_was(running: RunningHub, ago: timedelta) -> None:
    """Move the customer's WhatsApp messages back in time, as the clock would."""
    async with running.hub.db.session() as session:
        for message in await session.scalars(
            select(Message).where(col(Message.channel) == "whatsapp")
        ):
            message.created_at -= ago
        await session.commit()


async def test_whatsapp_outside_its_window_and_opted_out_sms_are_shown_disabled_with_why(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    first = await customer_texts(hub, whatsapp(PHONE, "is my order shipped?"))
    thread = f"/inbox/conversations/{first.conversation_id}"
    _, page, _ = await agent.get(thread)
    assert picker(page) == {
        "sms": (False, False, "SMS"),
        "whatsapp": (True, False, "WhatsApp"),
    }

    await customer_texts(hub, sms(PHONE, "STOP"))
    await whatsapp_was(hub, timedelta(hours=30))
    _, page, _ = await agent.get(thread)
    assert picker(page) == {
        "sms": (False, True, "SMS — opted out (texted STOP)"),
        "whatsapp": (
            False,
            True,
            "WhatsApp — outside the 24-hour window: last WhatsApp message from the customer "
            "was 30 h ago",
        ),
    }
    # The picker says what sending would say: both are refused.
    path = f"/conversations/{first.conversation_id}/messages"
    status, answer, _ = await api.call("POST", path, {"text": "hi", "channel": "whatsapp"})
    assert status == 409, answer

    await whatsapp_was(hub, timedelta(days=3))
    async with hub.hub.db.session() as session:
        await session.execute(update(Operator).values(locale="ru"))
        await session.commit()
    _, page, _ = await agent.get(thread)
    assert picker(page)["whatsapp"] == (
        False,
        True,
        "WhatsApp — вне 24-часового окна: последнее сообщение клиента в WhatsApp было 4 дн. назад",
    )
    assert picker(page)["sms"] == (False, True, "SMS — отписался (прислал STOP)")


async def test_the_picker_preselects_a_channel_that_can_carry_the_reply(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    await customer_texts(hub, whatsapp(PHONE, "hello from whatsapp"))
    last = await customer_texts(hub, sms(PHONE, "STOP"))  # the conversation's channel: sms
    _, page, _ = await agent.get(f"/inbox/conversations/{last.conversation_id}")
    shown = picker(page)
    assert shown["sms"][:2] == (False, True) and shown["whatsapp"][:2] == (True, False)
    await customer_texts(hub, sms(PHONE, "START"))
    _, page, _ = await agent.get(f"/inbox/conversations/{last.conversation_id}")
    assert picker(page) == {
        "sms": (True, False, "SMS"),
        "whatsapp": (False, False, "WhatsApp"),
    }
