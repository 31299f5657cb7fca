"""A lean Twilio Messages API for the sandbox, with the status callbacks Twilio would send.

Its answers (`twilio_error`, `message_resource`), the inbound webhook form (`inbound_form`)
and checks (`authorised`, `refusal`) are
Twilio's shapes, shared with the tests' fake Twilio (tests/fakes/twilio_api.py), which adds
only fault injection and media on top.

`POST /sandbox/providers/twilio/2010-04-01/Accounts/<sid>/Messages.json` takes what the
twilio library sends (urlencoded, HTTP Basic AccountSid:AuthToken) and answers 201 with a
`queued` Message resource, or Twilio-shaped errors (401/20003, 400/21604, 21602, 21617).
Then, like Twilio, it posts `sent` and `delivered` to the message's `StatusCallback`,
signed with `X-Twilio-Signature` over that URL, to the hub's own listener (Twilio sends no
callback for the initial `queued`: the hub has it from the create answer).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from hub.sandbox.exchange import Entry
from hub.sandbox.loopback import local_base
from hub.sandbox.state import SANDBOX, SandboxState

log = logging.getLogger(__name__)
MAX_BODY = 1600
# Real callbacks follow the carrier by seconds; the pause also lets the hub store the
# message's sid before its first callback arrives, as it would with Twilio.
CALLBACK_PAUSES = {"sent": 0.6, "delivered": 0.6}
API_VERSION = "2010-04-01"


def inbound_form(
    sid: str, account_sid: str, sender: str, to: str, body: str, **fields: str
) -> dict[str, str]:
    """The form Twilio posts to the messages webhook for an incoming SMS (WhatsApp: `sender`
    and `to` prefixed `whatsapp:`, and `fields` with ProfileName, WaId)."""
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
        **fields,
    }


def twilio_error(status: int, code: int, message: str) -> web.Response:
    """An error answer as Twilio's REST API gives it."""
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


def authorised(request: web.Request, account_sid: str, auth_token: str) -> bool:
    """HTTP Basic AccountSid:AuthToken, for the account the URL names."""
    expected = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
    given = request.headers.get("Authorization", "")
    return request.match_info["sid"] == account_sid and hmac.compare_digest(
        given.encode(), f"Basic {expected}".encode()
    )


def refusal(fields: dict[str, str]) -> web.Response | None:
    """Twilio's answer to a Messages create it refuses for its fields, or None."""
    if not fields.get("To") or not fields.get("From"):
        return twilio_error(400, 21604, "A 'To' and 'From' phone number is required.")
    if not fields.get("Body") and not fields.get("ContentSid") and not fields.get("MediaUrl"):
        return twilio_error(400, 21602, "Message body is required.")
    if len(fields.get("Body", "")) > MAX_BODY:
        return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 limit")
    return None


def message_resource(sid: str, account_sid: str, fields: dict[str, str]) -> dict[str, Any]:
    """The Message resource Twilio answers a create with (201), still `queued`."""
    return {
        "sid": sid,
        "account_sid": account_sid,
        "to": fields["To"],
        "from": fields["From"],
        "body": fields.get("Body", ""),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": API_VERSION,
        "error_code": None,
        "error_message": None,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
    }


async def create_message(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    sid, token = state.settings.twilio_account_sid, state.settings.twilio_auth_token
    if sid is None or token is None or not authorised(request, sid, token.get_secret_value()):
        return twilio_error(401, 20003, "Authenticate")
    fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if (refused := refusal(fields)) is not None:
        return refused
    message_sid = "SM" + uuid.uuid4().hex
    to = fields["To"]
    whatsapp = to.startswith("whatsapp:")
    text, detail = fields.get("Body", ""), ""
    if fields.get("ContentSid"):
        text, detail = fields.get("ContentVariables", ""), f"template {fields['ContentSid']}"
    entry = state.exchange.add(
        "whatsapp" if whatsapp else "sms",
        to.removeprefix("whatsapp:"),
        "outbound",
        text,
        "queued",
        detail=detail,
        ref=message_sid,
    )
    callback = fields.get("StatusCallback")
    if callback:
        state.spawn(_report(state, local_base(request), callback, entry, fields))
    return web.json_response(message_resource(message_sid, sid, fields), status=201)


async def _report(
    state: SandboxState, base: str, callback: str, entry: Entry, sent: dict[str, str]
) -> None:
    """Post each later status to the callback, signed over the URL Twilio was given."""
    token = state.settings.twilio_auth_token
    if token is None:
        return
    validator = RequestValidator(token.get_secret_value())
    target = urlsplit(callback)
    path = target.path + (f"?{target.query}" if target.query else "")
    for status, pause in CALLBACK_PAUSES.items():
        await asyncio.sleep(pause)
        form = {
            "MessageSid": entry.ref or "",
            "SmsSid": entry.ref or "",
            "AccountSid": state.settings.twilio_account_sid or "",
            "From": sent["From"],
            "To": sent["To"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": API_VERSION,
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(callback, form)}
        try:
            async with state.client().post(base + path, data=form, headers=headers) as answer:
                ok = answer.status < 300
                detail = "" if ok else f"the hub answered HTTP {answer.status} to the callback"
        except aiohttp.ClientError as exc:
            ok, detail = False, f"callback failed: {exc}"
        state.exchange.set_status(entry, status if ok else entry.status, detail or None)
        if not ok:
            log.warning("sandbox status callback refused", extra={"detail": detail})
            return


def routes(prefix: str) -> list[web.RouteDef]:
    return [
        web.post(prefix + f"/twilio/{API_VERSION}/Accounts/{{sid}}/Messages.json", create_message)
    ]
