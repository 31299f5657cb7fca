"""Email, inbound: one RFC 5322 message → an InboundMessage (pure, no I/O).

The stored text is the new part only: quoted replies and the signature are cut with
mail-parser-reply (maintained, multi-language), plus a small fallback for what it does not
know (RFC 3676 "-- " delimiter, trailing ">" quotes, Russian "... пишет:" headers). The full
original travels byte for byte in `mail.original`, the HTML part sanitised with nh3 in
`mail.html`. Auto-replies, bounces and bulk mail are flagged `automated`: stored, never
answered.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import html as html_lib
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser

import nh3
from mailparser_reply import EmailReplyParser

from hub.domain.addresses import normalise_email
from hub.domain.media import kind_of, mail_attachments
from hub.domain.messages import InboundAttachment, InboundMessage, MailFacts
from hub.domain.types import Channel
from hub.errors import InvalidInput

# Caps on what one mail may cost: quote stripping reads this much of the text, and the
# stored text is cut here (the original stays whole in the kept mail).
STRIP_CHARS = 50_000
TEXT_CHARS = 200_000
HEADER_BYTES = 256 * 1024  # the cheap reading looks for the headers' end only this far
_HEADER_END = re.compile(rb"\r?\n\r?\n")

_LANGUAGES = ["en", "de", "fr", "it", "nl", "pl", "sv", "da"]
_REPLY_PARSER = EmailReplyParser(languages=_LANGUAGES)
_MSGID = re.compile(r"<[^<>\s]+>")
_QUOTE_HEADER = re.compile(
    r"^\s*(on .+ wrote:|.+ (пишет|написал|написала|написал\(а\)):|-+ ?original message ?-+|"
    r"-+ ?исходное сообщение ?-+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6])\s*>")
# RFC 3834 §2: mail from these is never answered (bounces, list servers).
_ROBOT_SENDER = re.compile(
    r"^(mailer-daemon|postmaster|listserv|majordomo|owner-[^@]*|[^@]*-request)@", re.IGNORECASE
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|answer)|auto:|out of (the )?office|"
    r"abwesenheitsnotiz|r[ée]ponse automatique|автоответ|автоматический ответ|"
    r"undeliverable|undelivered|delivery status notification|returned mail)",
    re.IGNORECASE,
)


def is_automated(
    mail: EmailMessage,
    envelope_from: str | None,
    sender: str | None = None,
    hub_address: str | None = None,
) -> bool:
    """RFC 3834 and common practice: never answer auto-replies, bounces, bulk or lists, nor
    the hub's own mail coming back (`sender` is the From address, `hub_address` the
    support mailbox), so no two robots ever answer each other in a loop."""
    if sender is not None and hub_address is not None and sender == hub_address.lower():
        return True
    if sender is not None and _ROBOT_SENDER.match(sender):
        return True
    if hub_address is not None and _answers_an_auto_reply_to_us(mail, hub_address):
        return True
    auto = str(mail.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if str(mail.get("Precedence", "")).strip().lower() in ("bulk", "list", "junk"):
        return True
    if mail.get("X-Autoreply") is not None or mail.get("X-Autorespond") is not None:
        return True
    if mail.get("X-Failed-Recipients") is not None or mail.get("List-Id") is not None:
        return True
    if mail.get_content_type() == "multipart/report":  # delivery status notifications
        return True
    return_path = mail.get("Return-Path")
    if return_path is not None and str(return_path).strip() in ("", "<>"):
        return True
    return envelope_from is not None and envelope_from.strip() in ("", "<>")


def _answers_an_auto_reply_to_us(mail: EmailMessage, hub_address: str) -> bool:
    """Out-of-office replies often carry no Auto-Submitted (Exchange, many webmails): an
    answer to one of the hub's own mails (its Message-ID domain in In-Reply-To/References)
    that looks like one by its subject or Exchange's header is not answered."""
    domain = "@" + hub_address.rpartition("@")[2].lower() + ">"
    ids = _ids(mail.get("In-Reply-To")) + _ids(mail.get("References"))
    if not any(i.lower().endswith(domain) for i in ids):
        return False
    if mail.get("X-Auto-Response-Suppress") is not None:
        return True
    return bool(_AUTO_SUBJECT.match(str(mail.get("Subject", "") or "")))


def html_to_text(markup: str) -> str:
    text = nh3.clean(_BLOCK_END.sub("\n", markup), tags=set())
    return html_lib.unescape(text).strip()


def new_part(text: str) -> str:
    """The customer's new words: quoted reply and signature cut away.

    Only the first STRIP_CHARS are searched for the cut (the new words come first, and
    mail-parser-reply's cost grows faster than the text); a longer mail with no cut in
    that prefix is kept whole."""
    cleaned = text.replace("\r\n", "\n")
    if len(cleaned) > STRIP_CHARS:
        head = new_part(cleaned[:STRIP_CHARS])
        return head if len(head) < STRIP_CHARS * 0.9 else cleaned.strip()
    try:
        replies = _REPLY_PARSER.read(text=cleaned).replies
        body = replies[0].body if replies else ""
    except Exception:  # a third-party heuristic must never lose a mail
        body = ""
    body = (body or "").strip() or cleaned
    body = body.split("\n-- \n", 1)[0]
    match = _QUOTE_HEADER.search(body)
    if match and match.start() > 0:
        body = body[: match.start()]
    lines = body.rstrip().split("\n")
    while len(lines) > 1 and lines[-1].startswith(">"):
        lines.pop()
    return "\n".join(lines).strip() or cleaned.strip()


def _ids(value: object) -> list[str]:
    return _MSGID.findall(str(value or ""))


def _text_of(part: EmailMessage) -> str:
    """The part's text; an unknown or wrong charset is no reason to refuse a mail: then
    UTF-8 where the bytes are UTF-8, else Latin-1 (which takes any byte)."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError):
        data = part.get_payload(decode=True)
        raw = data if isinstance(data, bytes) else b""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def _bodies(mail: EmailMessage) -> tuple[str, str | None]:
    plain_part = mail.get_body(preferencelist=("plain",))
    html_part = mail.get_body(preferencelist=("html",))
    html = _text_of(html_part) if isinstance(html_part, EmailMessage) else None
    plain = _text_of(plain_part) if isinstance(plain_part, EmailMessage) else None
    if plain is None:
        plain = html_to_text(html) if html else ""
    return plain, nh3.clean(html) if html else None


def _files(mail: EmailMessage) -> tuple[InboundAttachment, ...]:
    """The mail's attachments, named `mime:N`: their bytes stay in the kept original."""
    return tuple(
        InboundAttachment(
            kind=kind_of(part.get_content_type()),
            ref=f"mime:{n}",
            content_type=part.get_content_type(),
            filename=part.get_filename(),
        )
        for n, part in enumerate(mail_attachments(mail))
    )


def parse_mail(
    raw: bytes,
    envelope_from: str | None = None,
    received_at: float = 0.0,
    *,
    hub_address: str | None = None,
) -> InboundMessage:
    """The mail as a customer message; InvalidInput when it has no usable From address.

    `hub_address` is the support mailbox: its own mail coming back is never answered.
    A body that cannot be read (broken MIME, an unknown charset) never refuses the mail: its
    raw text is kept and `mail.unparsed` says why."""
    try:
        mail = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(mail, EmailMessage)
    except (ValueError, TypeError, LookupError, AssertionError):
        return parse_mail_unparsed(
            raw, envelope_from, received_at, hub_address=hub_address, reason="unreadable mail"
        )
    address, name = _sender(mail)
    try:
        plain, html = _bodies(mail)
        files = _files(mail)
        text, unparsed = new_part(plain), None
    except (ValueError, TypeError, LookupError, AssertionError) as exc:
        text, html, files, unparsed = _raw_text(raw, mail), None, (), f"unreadable body: {exc}"
    return _message(
        mail,
        raw,
        address,
        name,
        text,
        html,
        files,
        unparsed,
        envelope_from,
        received_at,
        hub_address,
    )


def parse_mail_unparsed(
    raw: bytes,
    envelope_from: str | None = None,
    received_at: float = 0.0,
    *,
    hub_address: str | None = None,
    reason: str = "not parsed",
) -> InboundMessage:
    """The cheap reading, for a mail whose full parse ran out of time: headers only (the
    sender, subject and threading ids), the body's raw text, no quote stripping, no HTML,
    no attachments; `mail.unparsed` is `reason`. Linear in the mail's size."""
    head = _HEADER_END.split(raw[:HEADER_BYTES], maxsplit=1)[0]
    try:
        mail = BytesHeaderParser(policy=policy.default).parsebytes(head)
        assert isinstance(mail, EmailMessage)
    except (ValueError, TypeError, LookupError, AssertionError) as exc:
        raise InvalidInput(f"unreadable mail headers: {exc}") from None
    address, name = _sender(mail)
    text = _raw_text(raw, mail)
    return _message(
        mail, raw, address, name, text, None, (), reason, envelope_from, received_at, hub_address
    )


def _sender(mail: EmailMessage) -> tuple[str, str]:
    try:
        sender = mail["From"]
        addresses = getattr(sender, "addresses", ()) if sender is not None else ()
        address = normalise_email(addresses[0].addr_spec) if addresses else None
        name = (addresses[0].display_name or "").strip() if addresses else ""
    except (ValueError, TypeError, LookupError, IndexError, AttributeError) as exc:
        raise InvalidInput(f"unreadable From: {exc}") from None
    if address is None:
        raise InvalidInput("the mail has no usable From address")
    return address, name


def _raw_text(raw: bytes, mail: EmailMessage) -> str:
    """The body as sent, transfer encoding undone where it is the whole body's; any
    charset read with a fallback. Used when the MIME structure is not parsed."""
    parts = _HEADER_END.split(raw, maxsplit=1)
    body = parts[1] if len(parts) > 1 else b""
    encoding = str(mail.get("Content-Transfer-Encoding", "") or "").strip().lower()
    try:
        if encoding == "quoted-printable":
            body = binascii.a2b_qp(body)
        elif encoding == "base64":
            body = binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
        pass
    charset = "utf-8"
    with contextlib.suppress(Exception):
        charset = mail.get_content_charset() or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # an unknown charset: UTF-8 where it is, else Latin-1
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("latin-1")


def _message(
    mail: EmailMessage,
    raw: bytes,
    address: str,
    name: str,
    text: str,
    html: str | None,
    files: tuple[InboundAttachment, ...],
    unparsed: str | None,
    envelope_from: str | None,
    received_at: float,
    hub_address: str | None,
) -> InboundMessage:
    message_ids = _ids(mail.get("Message-ID"))
    message_id = message_ids[0] if message_ids else None
    references = _ids(mail.get("References"))
    references += [i for i in _ids(mail.get("In-Reply-To")) if i not in references]
    dedupe = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(text) > TEXT_CHARS:
        text = text[:TEXT_CHARS]
        unparsed = unparsed or f"the text is cut at {TEXT_CHARS} characters"
    facts = MailFacts(
        subject=str(mail.get("Subject", "") or "").strip(),
        references=tuple(references),
        html=html,
        original=raw,  # the exact bytes (any charset, 8-bit parts)
        unparsed=unparsed,
    )
    return InboundMessage(
        channel=Channel.EMAIL,
        address=address,
        dedupe_key=dedupe[:255],
        external_id=message_id,
        text=text.replace("\x00", "\ufffd"),
        display_name=name[:200] or None,
        received_at=received_at,
        automated=is_automated(mail, envelope_from, address, hub_address),
        mail=facts,
        attachments=files,
    )
