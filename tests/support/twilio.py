"""A hub on Twilio in tests: its numbers and settings, and webhook payloads as Twilio sends
them, signed, posted to it."""

from __future__ import annotations

import itertools
from typing import Any

from hub.models import Message
from hub.sandbox.twilio_api import inbound_form
from hub.settings import Settings
from tests.conftest import make_settings
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, sign
from tests.support.running import RunningHub

PUBLIC_URL = "https://support.example.test"
SMS_FROM = "+15550001111"
WHATSAPP_FROM = "whatsapp:+15550002222"
_sids = itertools.count(1)


def twilio_settings(backend_urls: dict[str, Any], api_url: str, **extra: Any) -> Settings:
    return make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_api_url=api_url,
        **extra,
    )


def sms(phone: str, body: str, **fields: str) -> dict[str, str]:
    sid = f"SM{next(_sids):032x}"
    return inbound_form(sid, ACCOUNT_SID, phone, SMS_FROM, body, ToCountry="US", **fields)


def whatsapp(phone: str, body: str, profile: str | None = "Maria Lopez") -> dict[str, str]:
    fields = sms(f"whatsapp:{phone}", body, To=WHATSAPP_FROM, WaId=phone.lstrip("+"))
    fields["MessageType"] = "text"
    if profile is not None:
        fields["ProfileName"] = profile
    return fields


async def post_form(
    running: RunningHub,
    path: str,
    fields: dict[str, str],
    *,
    signature: str | None = None,
    signed_url: str | None = None,
) -> tuple[int, str, str]:
    """POST a form as Twilio does, signed over the public URL; (status, text, content type)."""
    url = signed_url or PUBLIC_URL + path
    headers = {"X-Twilio-Signature": signature if signature is not None else sign(url, fields)}
    async with running.http.post(f"{running.url}{path}", data=fields, headers=headers) as answer:
        return answer.status, await answer.text(), answer.content_type


async def status_callback(running: RunningHub, sid: str, status: str, **extra: str) -> int:
    fields = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, **extra}
    code, _, _ = await post_form(running, "/webhooks/twilio/status", fields)
    return code


async def message(running: RunningHub, message_id: int) -> Message:
    async with running.hub.db.session() as session:
        found = await session.get(Message, message_id)
    assert found is not None
    return found


async def status_is(running: RunningHub, message_id: int, status: str) -> Message | None:
    found = await message(running, message_id)
    return found if found.status == status else None


def fields_of(calls: list[Any]) -> list[dict[str, str]]:
    return [c.fields for c in calls]
