"""Twilio, inbound half: SMS and WhatsApp webhooks and delivery-status callbacks.

One endpoint serves both channels: a `From` beginning `whatsapp:` is WhatsApp. Requests are
authenticated with `X-Twilio-Signature` (HMAC-SHA1 with the auth token over the URL Twilio
called plus every POST parameter), checked by the twilio library's RequestValidator.
Parsing is pure: no I/O, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from multidict import MultiDict
from twilio.request_validator import RequestValidator

from hub.domain.messages import InboundAttachment, InboundMessage
from hub.domain.ports import WebhookAnswer, WebhookRequest
from hub.domain.types import Channel, MessageStatus
from hub.errors import InvalidInput

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"
# Twilio answers a webhook with TwiML; an empty <Response> sends nothing back by itself.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
WHATSAPP_PREFIX = "whatsapp:"
# The hub's message id, carried in the StatusCallback URL (signed with the rest of it).
STATUS_MESSAGE_PARAM = "hub_message"

# Twilio's default opt-out / opt-in keywords on long codes (case-insensitive, whole body).
# Twilio itself blocks sends to an opted-out number (error 21610); the hub keeps the same
# state so an operator sees it and a reply fails clearly before it reaches Twilio.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

# Twilio statuses → the hub's. queued/accepted/scheduled/sending add nothing to "queued".
_STATUS = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "partially_delivered": MessageStatus.SENT,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def read_form(request: WebhookRequest) -> MultiDict[str]:
    """The POST parameters; a body that is not a form at all is refused (→ 400/415)."""
    if request.content_type != FORM_TYPE:
        raise InvalidInput(f"Twilio webhooks are {FORM_TYPE}, got {request.content_type!r}")
    try:
        text = request.body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the body is not a form: {exc}") from None
    return MultiDict(pairs)


def without_nul(form: MultiDict[str]) -> MultiDict[str]:
    """NUL made U+FFFD, as email does: PostgreSQL text cannot hold it, and an event that can
    never be stored would be retried forever after Twilio got its 200. Parsing only: the
    signature is checked over the values as sent."""
    return MultiDict((key, value.replace("\x00", "\ufffd")) for key, value in form.items())


def opt_change(body: str) -> bool | None:
    """True for an opt-out keyword, False for an opt-in one, None for any other text."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return True
    if word in OPT_IN_KEYWORDS:
        return False
    return None


class TwilioWebhook:
    """Verifies and parses `POST /webhooks/twilio/messages` and `/webhooks/twilio/status`."""

    name = "twilio/messages"
    content_type: str | None = FORM_TYPE
    refusal = "Forbidden"  # the plain HTTP reason, as Twilio's 403s have always said
    answer = WebhookAnswer(EMPTY_TWIML, "text/xml")  # what both endpoints answer, with 200

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def verify(self, request: WebhookRequest) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        try:
            form = read_form(request)
        except InvalidInput:
            return False
        return bool(self._validator.validate(request.url, form, signature))

    def parse(self, request: WebhookRequest, received_at: float = 0.0) -> list[InboundMessage]:
        form = without_nul(read_form(request))
        sender, sid = form.get("From", "").strip(), form.get("MessageSid", "").strip()
        if not sender or not sid:
            return []  # nothing the hub can thread: acknowledged and dropped
        whatsapp = sender.lower().startswith(WHATSAPP_PREFIX)
        channel = Channel.WHATSAPP if whatsapp else Channel.SMS
        # Numbers Twilio gives are E.164 as they are (SPEC §6); only the prefix goes.
        address = sender[len(WHATSAPP_PREFIX) :] if whatsapp else sender
        body = form.get("Body", "")
        return [
            InboundMessage(
                channel=channel,
                address=address,
                dedupe_key=sid,
                external_id=sid,
                text=body,
                display_name=(form.get("ProfileName") or "").strip() or None,
                received_at=received_at,
                sms_opt_out=opt_change(body) if channel is Channel.SMS else None,
                extra={"to": form.get("To", "")},
                attachments=twilio_media(form),
            )
        ]

    def parse_status(self, request: WebhookRequest) -> StatusUpdate | None:
        return parse_status(request)


MAX_MEDIA = 10  # Twilio's own cap on media per message


def twilio_media(form: MultiDict[str]) -> tuple[InboundAttachment, ...]:
    """`MediaUrlN` / `MediaContentTypeN` for N below `NumMedia`: fetched later, with the
    account's credentials."""
    raw = form.get("NumMedia", "0").strip()
    count = min(int(raw), MAX_MEDIA) if raw.isdigit() else 0
    found = []
    for n in range(count):
        url = form.get(f"MediaUrl{n}", "").strip()
        if not url.startswith(("https://", "http://")):
            continue
        content_type = form.get(f"MediaContentType{n}", "").strip() or None
        major = (content_type or "").split("/", 1)[0]
        kind = major if major in ("image", "audio", "video") else "document"
        found.append(InboundAttachment(kind=kind, ref=url, content_type=content_type))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One delivery-status callback: which message, its new status, Twilio's error if any."""

    external_id: str
    status: MessageStatus
    error: str | None
    message_id: int | None = None


def parse_status(request: WebhookRequest) -> StatusUpdate | None:
    """None for a callback that changes nothing the hub shows (queued, sending, unknown)."""
    form = without_nul(read_form(request))
    sid = form.get("MessageSid", "").strip()
    status = _STATUS.get(form.get("MessageStatus", "").strip().lower())
    if not sid or status is None:
        return None
    error = None
    if status is MessageStatus.FAILED:
        raw = form.get("MessageStatus", "")
        code, text = form.get("ErrorCode", ""), form.get("ErrorMessage", "")
        error = (
            f"Twilio: {raw}" + (f", error {code}" if code else "") + (f": {text}" if text else "")
        )
        if code == "63016":
            error += " (outside the WhatsApp 24 h window: use a template or another channel)"
    return StatusUpdate(
        external_id=sid, status=status, error=error, message_id=_message_id(request)
    )


def _message_id(request: WebhookRequest) -> int | None:
    query = urlsplit(request.url).query
    raw = dict(parse_qsl(query)).get(STATUS_MESSAGE_PARAM, "") if query else ""
    return int(raw) if raw.isdigit() and len(raw) < 19 else None
