"""What adapters hand to the core (InboundMessage) and get back from it (OutboundMessage)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.domain.storable import storable
from hub.domain.types import Channel

# How much of a message a conversation keeps as its preview (conversations.last_message_text).
PREVIEW_CHARS = 300


@dataclass(frozen=True, slots=True)
class ContactClaim:
    """A phone or email the customer shared about themselves (Telegram contact, identify)."""

    phone: str | None = None
    email: str | None = None
    name: str | None = None
    verified: bool = False


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    """A file that came with a message, as the provider names it; fetched after routing.

    `ref` is what the channel needs to fetch it: a Telegram file_id, a Twilio media URL,
    `mime:N` for the Nth attachment of a stored mail, `media:KEY` for a file already in
    the media store (a web chat upload).
    """

    kind: str
    ref: str
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "content_type": self.content_type,
            "filename": self.filename,
            "size": self.size,
        }


# How json.dumps (ASCII output) writes a NUL or a lone surrogate; a pair (an emoji) is no
# match. An escaped backslash before "u0000" in text may match too: harmless, it cleans.
_UNSTORABLE_ESCAPE = re.compile(
    r"\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f]"
)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message as a provider delivered it, already translated by the adapter.

    `dedupe_key` is unique per channel for one provider event (Telegram chat:message,
    Twilio MessageSid, mail Message-ID), so provider retries are stored once.

    `extra` keys the core reads: SMS `sms_opt_out` (STOP/START); email `subject`,
    `references`, `html` (sanitised), `raw_base64` (the original), `automated` (never
    answered) and `unparsed` (why only the raw text was kept: stored as the message's
    `error`, shown to operators). Every string in it is cleaned by `to_json`.
    """

    channel: Channel
    address: str
    dedupe_key: str
    text: str
    external_id: str | None = None
    display_name: str | None = None
    locale: str | None = None
    sent_at: datetime | None = None
    contact: ContactClaim | None = None
    received_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[InboundAttachment, ...] = ()

    def to_json(self) -> str:
        # Built by hand: dataclasses.asdict deep-copies and was a visible cost per webhook.
        contact = self.contact
        data: dict[str, Any] = {
            "channel": self.channel.value,
            "address": self.address,
            "dedupe_key": self.dedupe_key,
            "text": self.text,
            "external_id": self.external_id,
            "display_name": self.display_name,
            "locale": self.locale,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "contact": None
            if contact is None
            else {
                "phone": contact.phone,
                "email": contact.email,
                "name": contact.name,
                "verified": contact.verified,
            },
            "received_at": self.received_at,
            "extra": self.extra,
        }
        if self.attachments:  # left out when empty: jobs queued before attachments still load
            data["attachments"] = [a.to_dict() for a in self.attachments]
        out = json.dumps(data, separators=(",", ":"))  # ASCII output takes json's fast path
        if _UNSTORABLE_ESCAPE.search(out):  # a NUL or a lone surrogate somewhere: clean all
            out = json.dumps(storable(data), separators=(",", ":"))
        return out

    @classmethod
    def from_json(cls, raw: str | bytes) -> InboundMessage:
        data = json.loads(raw)
        contact = data.pop("contact", None)
        sent_at = data.pop("sent_at", None)
        attachments = data.pop("attachments", None)
        return cls(
            channel=Channel(data.pop("channel")),
            attachments=tuple(InboundAttachment(**a) for a in attachments or ()),
            contact=ContactClaim(**contact) if contact else None,
            sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
            **data,
        )


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One reply for an adapter to send to `address` on its channel. Everything an adapter
    reads is a typed field; there is no free-form `extra` on the way out.

    `content_sid`: a WhatsApp Content template to send instead of free text (the text is
    its variable 1); the core sets it only for WhatsApp outside the 24-hour window.
    `thread`: for mail, the headers that keep the customer's mail client threading.
    `opted_out`: the customer texted STOP on SMS; the core ends such a reply failed itself
    and never hands it to an adapter.
    `progress`: what an earlier attempt got accepted, as the adapter wrote it in
    ProviderError.progress (None on the first attempt); the core only carries it.
    """

    message_id: int
    conversation_id: int
    channel: Channel
    address: str
    text: str
    attachments: tuple[OutboundAttachment, ...] = ()
    content_sid: str | None = None
    thread: MailThread | None = None
    opted_out: bool = False
    progress: str | None = None


@dataclass(frozen=True, slots=True)
class MailThread:
    """The customer's latest mail that a reply answers: its subject, and its Message-ID
    (`in_reply_to`) and reference chain (`references`, space-separated) when it had one."""

    subject: str = ""
    in_reply_to: str | None = None
    references: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundAttachment:
    """A file an operator sends: its bytes, and a public signed URL for providers that
    fetch media themselves (Twilio)."""

    filename: str
    content_type: str
    data: bytes
    url: str

    @property
    def is_image(self) -> bool:
        return self.content_type in ("image/jpeg", "image/png", "image/gif", "image/webp")


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What the provider answered to a send: its id for the message (or the first part)."""

    external_id: str | None
    delivered: bool = False
