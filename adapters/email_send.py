"""Email, outbound: a text/plain reply through the SMTP relay `HUB_SMTP_URL` (aiosmtplib).

`smtp://[user:pass@]host:port` (STARTTLS used when the relay offers it), `smtps://` for TLS
from the first byte (port 465), `?starttls=1` to require STARTTLS. Each mail gets its own
Message-ID (returned as the message's external_id, so a customer's answer threads back),
In-Reply-To = the customer's latest inbound Message-ID, References ending with it and
`Subject: Re: <their subject>`.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from hub.domain.messages import DeliveryReceipt, OutboundMessage
from hub.domain.types import Channel
from hub.errors import ProviderError

_RE = re.compile(r"^\s*(re|aw|sv|ответ)\s*(\[\d+\])?\s*:", re.IGNORECASE)
TIMEOUT = 30.0


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        return "Re: your message"
    return subject if _RE.match(subject) else f"Re: {subject}"


class EmailSender:
    channel = Channel.EMAIL
    max_text_length = 100_000

    def __init__(self, smtp_url: str, address: str, *, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout
        url = urlsplit(smtp_url)
        query = parse_qs(url.query)
        self._host = url.hostname or "localhost"
        self._tls = url.scheme == "smtps"
        self._port = url.port or (465 if self._tls else 25)
        starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        # None: upgrade when the relay offers STARTTLS (aiosmtplib's default); True: require.
        self._starttls: bool | None = True if starttls else (False if self._tls else None)
        self._user = unquote(url.username) if url.username else None
        self._password = unquote(url.password) if url.password else None
        self._from = address
        self._domain = address.rpartition("@")[2]

    def compose(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.address
        thread = message.thread
        mail["Subject"] = reply_subject(thread.subject if thread else "")
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(idstring=f"m{message.message_id}", domain=self._domain)
        if thread is not None and thread.in_reply_to:
            mail["In-Reply-To"] = thread.in_reply_to
            mail["References"] = thread.references or thread.in_reply_to
        mail.set_content(message.text)
        for file in message.attachments:
            maintype, _, subtype = file.content_type.partition("/")
            mail.add_attachment(
                file.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=file.filename,
            )
        return mail

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        mail = self.compose(message)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._host,
                port=self._port,
                username=self._user,
                password=self._password,
                use_tls=self._tls,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ProviderError(
                f"the relay refused the recipient: {exc}", retryable=False
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            raise ProviderError(
                f"SMTP {exc.code}: {exc.message}", retryable=not permanent
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ProviderError(f"SMTP relay unreachable: {exc}", retryable=True) from None
        return DeliveryReceipt(external_id=str(mail["Message-ID"]))

    async def close(self) -> None:
        return None
