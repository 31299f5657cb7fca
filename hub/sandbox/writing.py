"""Writing as a sandbox customer, the way each provider delivers to the hub: a Telegram
Update to `/webhooks/telegram` with the secret header, a Twilio form to
`/webhooks/twilio/messages` signed with `X-Twilio-Signature`, a mail over SMTP to the
hub's listener. Nothing is put into the hub by any other door."""

from __future__ import annotations

import itertools
import time
import uuid
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

import aiohttp
import aiosmtplib
from twilio.request_validator import RequestValidator

from hub.errors import InvalidInput
from hub.sandbox.customers import Persona
from hub.sandbox.exchange import Entry
from hub.sandbox.state import SandboxState
from hub.sandbox.telegram_updates import telegram_update
from hub.sandbox.twilio_api import inbound_form

MAX_TEXT = 4096
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram ids only grow; starting from the clock keeps a restarted sandbox from repeating
# an id the hub has already stored (it would be taken for a provider retry and dropped).
_telegram_ids = itertools.count(int(time.time() * 1000))


def _telegram_update(persona: Persona, text: str, share_contact: bool) -> dict[str, Any]:
    first, _, last = persona.name.partition(" ")
    user_id = int(persona.address)
    fields: dict[str, Any] = {}
    if share_contact:
        # What Telegram sends when the user taps "share my phone number": their own card.
        fields["contact"] = {
            "phone_number": persona.phone,
            "first_name": first,
            "user_id": user_id,
        } | ({"last_name": last} if last else {})
    return telegram_update(
        next(_telegram_ids),
        user_id,
        None if share_contact else text,
        first_name=first,
        last_name=last or None,
        message_id=next(_telegram_ids),
        date=int(time.time()),
        **fields,
    )


def _twilio_form(state: SandboxState, persona: Persona, text: str) -> dict[str, str]:
    settings = state.settings
    whatsapp = persona.channel == "whatsapp"
    return inbound_form(
        "SM" + uuid.uuid4().hex,
        settings.twilio_account_sid or "",
        f"whatsapp:{persona.address}" if whatsapp else persona.address,
        (settings.whatsapp_sender if whatsapp else settings.twilio_sms_from) or "",
        text,
        **({"ProfileName": persona.name, "WaId": persona.address.lstrip("+")} if whatsapp else {}),
    )


def _mail(state: SandboxState, persona: Persona, text: str, subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((persona.name, persona.address))
    mail["To"] = state.settings.email_address or ""
    mail["Subject"] = subject or "A question"
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="sandbox.test")
    previous = state.exchange.outbound_ref("email", persona.address)
    if previous:  # answer the hub's latest mail, as a mail client does
        mail["In-Reply-To"] = previous
        mail["References"] = previous
    mail.set_content(text)
    return mail


async def _post(state: SandboxState, url: str, **kwargs: Any) -> tuple[bool, str]:
    try:
        async with state.client().post(url, **kwargs) as answer:
            await answer.read()
            return answer.status < 300, f"HTTP {answer.status}"
    except aiohttp.ClientError as exc:
        return False, f"unreachable: {exc}"


async def _send_mail(state: SandboxState, persona: Persona, mail: EmailMessage) -> tuple[bool, str]:
    host, _, port = (state.settings.smtp_listen or "").rpartition(":")
    try:
        _, reply = await aiosmtplib.send(
            mail,
            hostname=host.strip("[]") or "127.0.0.1",
            port=int(port),
            sender=persona.address,
            recipients=[state.settings.email_address or ""],
            start_tls=False,
            timeout=30,
        )
    except aiosmtplib.SMTPException as exc:
        return False, f"SMTP: {exc}"
    except OSError as exc:
        return False, f"SMTP listener unreachable: {exc}"
    return True, f"SMTP {reply}"


async def write(
    state: SandboxState,
    base: str,
    persona: Persona,
    text: str,
    subject: str = "",
    *,
    share_contact: bool = False,
) -> Entry:
    """Deliver one customer message to the hub at `base`; the entry says how it was taken.
    `share_contact`: a Telegram customer shares their own phone number instead of text."""
    if persona.channel not in state.channels:
        raise InvalidInput(f"the {persona.channel} channel is not served by the sandbox here")
    if share_contact:
        if persona.channel != "telegram" or not persona.phone:
            raise InvalidInput("only a Telegram customer with a phone number can share it")
        text = f"[shared the phone number {persona.phone}]"
    elif not text.strip():
        raise InvalidInput("write something first")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"keep it under {MAX_TEXT} characters")
    settings = state.settings
    if persona.channel == "telegram":
        secret = settings.telegram_webhook_secret
        ok, detail = await _post(
            state,
            f"{base}/webhooks/telegram",
            json=_telegram_update(persona, text, share_contact),
            headers={SECRET_HEADER: secret.get_secret_value() if secret else ""},
        )
    elif persona.channel in ("sms", "whatsapp"):
        token = settings.twilio_auth_token
        form = _twilio_form(state, persona, text)
        # Signed over the URL Twilio would call: the hub's public address.
        url = f"{settings.base_url}/webhooks/twilio/messages"
        signature = RequestValidator(token.get_secret_value() if token else "").compute_signature(
            url, form
        )
        ok, detail = await _post(
            state,
            f"{base}/webhooks/twilio/messages",
            data=form,
            headers={"X-Twilio-Signature": signature},
        )
    else:
        ok, detail = await _send_mail(state, persona, _mail(state, persona, text, subject))
    return state.exchange.add(
        persona.channel,
        persona.address,
        "inbound",
        text,
        "accepted" if ok else "refused",
        detail=(subject + " · " if subject else "") + detail,
    )
