"""What adapters hand to the core (InboundMessage) and get back from it (OutboundMessage)."""

from __future__ import annotations

import base64
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
class MailFacts:
    """What the core keeps of a mail beside its text: threading ids, the sanitised HTML, the
    exact original, and why the body was not parsed (if it was not)."""

    subject: str = ""
    # References, then In-Reply-To ids not among them: the ids a reply may thread on.
    references: tuple[str, ...] = ()
    html: str | None = None  # sanitised by the adapter
    original: bytes | None = None  # the mail byte for byte
    # Why only the raw text was kept (stored as the message's `error`, shown to operators).
    unparsed: str | None = None


# The keys a job queued before the typed fields carried in "extra" (see from_json).
_OLD_MAIL_KEYS = ("subject", "references", "html", "raw_base64", "raw", "unparsed")


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message as a provider delivered it, already translated by the adapter.

    `dedupe_key` is unique per channel for one provider event (Telegram chat:message,
    Twilio MessageSid, mail Message-ID), so provider retries are stored once.

    What the core branches on is typed: `automated` (an auto-reply or bounce: stored, never
    answered), `sms_opt_out` (True for STOP, False for START, None for any other text) and
    `mail` (email only). `extra` holds what the core never reads, for logs and debugging;
    its one key today is Twilio's `to` (the hub's number the customer wrote to). Every
    string in the message is cleaned by `to_json`.
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
    automated: bool = False
    sms_opt_out: bool | None = None
    mail: MailFacts | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[InboundAttachment, ...] = ()

    def to_json(self) -> str:
        # Built by hand: dataclasses.asdict deep-copies and was a visible cost per webhook.
        # The typed facts are left out at their defaults: most messages carry none of them.
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
        if self.automated:
            data["automated"] = True
        if self.sms_opt_out is not None:
            data["sms_opt_out"] = self.sms_opt_out
        if (mail := self.mail) is not None:
            data["mail"] = {
                "subject": mail.subject,
                "references": list(mail.references),
                "html": mail.html,
                # base64 is ASCII: the JSON stays compact where escaped bytes would grow.
                "original": None
                if mail.original is None
                else base64.b64encode(mail.original).decode("ascii"),
                "unparsed": mail.unparsed,
            }
        if self.attachments:  # left out when empty: jobs queued before attachments still load
            data["attachments"] = [a.to_dict() for a in self.attachments]
        out = json.dumps(data, separators=(",", ":"))  # ASCII output takes json's fast path
        if _UNSTORABLE_ESCAPE.search(out):  # a NUL or a lone surrogate somewhere: clean all
            out = json.dumps(storable(data), separators=(",", ":"))
        return out

    @classmethod
    def from_json(cls, raw: str | bytes) -> InboundMessage:
        """Reads what `to_json` writes, and jobs queued before the typed fields, whose
        facts rode as keys of "extra" (the keys are taken out of it)."""
        data = json.loads(raw)
        contact = data.pop("contact", None)
        sent_at = data.pop("sent_at", None)
        attachments = data.pop("attachments", None)
        channel = Channel(data.pop("channel"))
        extra: dict[str, Any] = data.pop("extra", None) or {}
        mail = data.pop("mail", None)
        if "automated" in extra:
            data["automated"] = bool(extra.pop("automated"))
        if "sms_opt_out" in extra:
            data["sms_opt_out"] = bool(extra.pop("sms_opt_out"))
        facts = _mail_facts(mail) if mail is not None else None
        if facts is None and channel is Channel.EMAIL:
            facts = _old_mail(extra)
        return cls(
            channel=channel,
            attachments=tuple(InboundAttachment(**a) for a in attachments or ()),
            contact=ContactClaim(**contact) if contact else None,
            sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
            mail=facts,
            extra=extra,
            **data,
        )


def _mail_facts(data: dict[str, Any]) -> MailFacts:
    original = data.get("original")
    return MailFacts(
        subject=data.get("subject") or "",
        references=tuple(data.get("references") or ()),
        html=data.get("html"),
        original=None if original is None else base64.b64decode(original),
        unparsed=data.get("unparsed"),
    )


def _old_mail(extra: dict[str, Any]) -> MailFacts:
    """The mail facts of a job in the old shape, taken out of its `extra`; its original is
    base64 ("raw_base64") or, queued earlier still, UTF-8 text ("raw")."""
    old = {key: extra.pop(key) for key in _OLD_MAIL_KEYS if key in extra}
    encoded, text, unparsed = old.get("raw_base64"), old.get("raw"), old.get("unparsed")
    original = None
    if isinstance(encoded, str):
        original = base64.b64decode(encoded)
    elif isinstance(text, str):
        original = text.encode("utf-8")
    return MailFacts(
        subject=old.get("subject") or "",
        references=tuple(old.get("references") or ()),
        html=old.get("html"),
        original=original,
        unparsed=unparsed if isinstance(unparsed, str) else None,
    )


@dataclass(frozen=True, slots=True)
class Routed:
    """An inbound message the router stored, with where it went: what the bots answer and
    the metrics count."""

    inbound: InboundMessage
    message_id: int
    conversation_id: int
    customer_id: int


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
