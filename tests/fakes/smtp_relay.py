"""A real SMTP relay on loopback (aiosmtpd), recording what the hub sends through it."""

from __future__ import annotations

import asyncio
import email
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class RelayedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SmtpRelay:
    """`smtp://127.0.0.1:PORT`; `refuse_next(code)` answers the next RCPT with that code."""

    def __init__(self) -> None:
        self.received: list[RelayedMail] = []
        self._refusals: list[str] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def refuse_next(self, reply: str) -> None:
        self._refusals.append(reply)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self._refusals:
            return self._refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(RelayedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 relayed"

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="relay.test", decode_data=False, loop=loop), "127.0.0.1", 0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
