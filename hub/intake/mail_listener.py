"""The SMTP listener (`HUB_SMTP_LISTEN`): mail to `HUB_EMAIL_ADDRESS` in, durably queued.

aiosmtpd serves inside the process's event loop (no Controller thread). A mail is read
(`hub.intake.mail_parsing`: in a worker process, under a time budget, the event loop free
meanwhile) and enqueued on the inbound queue before the listener answers 250, so an
accepted mail is never lost; a queue outage answers 451 and the sending server tries again.
With `HUB_SMTP_TLS_CERT`/`HUB_SMTP_TLS_KEY` the listener offers STARTTLS; plain SMTP stays
accepted (servers relaying to an MX fall back to plain when TLS is not offered or fails).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.domain.addresses import normalise_email
from hub.domain.messages import InboundMessage
from hub.errors import InvalidInput
from hub.intake.mail_log import quiet_smtp_chatter
from hub.queue.inbound import accept_inbound
from hub.queue.port import QueueBackend

log = logging.getLogger(__name__)
MAX_MAIL_BYTES = 10 * 1024 * 1024
ParseMail = Callable[[bytes, "str | None", float], Awaitable[InboundMessage]]


class MailHandler:
    """aiosmtpd hooks: only the support mailbox is a recipient; DATA is queued, then 250."""

    def __init__(self, mailbox: str, parse: ParseMail, queue: QueueBackend) -> None:
        self.mailbox = mailbox.lower()
        self.parse = parse
        self.queue = queue

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if normalise_email(address) != self.mailbox:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        try:
            message = await self.parse(raw or b"", envelope.mail_from, time.time())
        except InvalidInput as exc:
            log.warning("mail refused: %s", exc.message)
            return f"550 5.6.0 {exc.message}"
        except Exception:  # never a 5xx bounce for our own failure: the sender tries again
            log.exception("mail could not be read; the sender will retry")
            return "451 4.3.0 temporarily unable to read the mail, try again later"
        try:
            await accept_inbound(self.queue, [message])
        except Exception:
            log.exception("mail could not be queued; the sender will retry")
            return "451 4.3.0 temporarily unable to accept the mail, try again later"
        return "250 2.0.0 OK: queued"


def server_tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The STARTTLS context, or None when no certificate is configured (settings checked
    both files at start)."""
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def start_listener(
    listen: str,
    mailbox: str,
    parse: ParseMail,
    queue: QueueBackend,
    tls: ssl.SSLContext | None = None,
) -> asyncio.Server:
    """Bind `host:port` (port 0 picks a free one: see the server's sockets)."""
    host, _, port = listen.rpartition(":")
    quiet_smtp_chatter()  # recipients at DEBUG, not INFO
    handler = MailHandler(mailbox, parse, queue)
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(
            handler,
            hostname=mailbox.rpartition("@")[2],
            data_size_limit=MAX_MAIL_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=tls,
            require_starttls=False,
            loop=loop,
        )

    return await loop.create_server(protocol, host.strip("[]"), int(port))
