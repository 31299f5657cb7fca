"""The sandbox's outbound mail relay: an aiosmtpd server on loopback that keeps what the
hub sends (`HUB_SMTP_URL` points here) instead of passing it on."""

from __future__ import annotations

import asyncio
import email
from email import policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.domain.addresses import normalise_email
from hub.sandbox.exchange import Exchange


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()).strip() if body is not None else ""


class CaptureHandler:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=policy.default)
        if not isinstance(message, EmailMessage):
            return "554 5.6.0 unreadable message"
        for rcpt in envelope.rcpt_tos:
            self.exchange.add(
                "email",
                normalise_email(rcpt) or rcpt.lower(),
                "outbound",
                plain_text(message),
                "sent",
                detail=str(message.get("Subject", "")),
                ref=str(message.get("Message-ID", "")) or None,
            )
        return "250 2.0.0 captured by the sandbox"


async def start_capture(smtp_url: str, exchange: Exchange) -> asyncio.Server:
    relay = urlsplit(smtp_url)
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(
            CaptureHandler(exchange), hostname="sandbox.relay", decode_data=False, loop=loop
        )

    return await loop.create_server(protocol, relay.hostname or "127.0.0.1", relay.port or 25)
