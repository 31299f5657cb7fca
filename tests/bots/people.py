"""A customer on one channel, writing through the hub's real endpoint and reading what the
fake provider received for them: one shape for Telegram, SMS, WhatsApp, email and web chat."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import aiohttp
import aiosmtplib

from tests.channels.conftest import MAILBOX
from tests.channels.twilio_support import post_form, sms, whatsapp
from tests.factories import telegram_update
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, eventually

CHANNELS = ("telegram", "sms", "whatsapp", "email", "webchat")
HMAC_SECRET = "shop-hmac-secret"
_numbers = itertools.count(1)


@dataclass
class Fakes:
    telegram: FakeTelegramAPI
    twilio: FakeTwilioAPI
    relay: SmtpRelay


class Person(Protocol):
    channel: str

    @property
    def address(self) -> str:
        """The hub's address of this person on the channel (the messages' `address`)."""
        ...

    def order_customer(self) -> dict[str, Any]:
        """The `customer` of PUT /orders that makes an order this person's."""
        ...

    async def ask(self, text: str) -> None:
        """Write to the shop through the channel's real endpoint."""
        ...

    def answers(self) -> list[str]:
        """What the provider delivered to this person, oldest first."""
        ...

    async def close(self) -> None: ...


@dataclass
class TelegramPerson:
    running: RunningHub
    fakes: Fakes
    channel: str = "telegram"
    user_id: int = field(default_factory=lambda: 70_000 + next(_numbers))

    @property
    def address(self) -> str:
        return str(self.user_id)

    def order_customer(self) -> dict[str, Any]:
        return {"telegram_id": self.user_id}

    async def ask(self, text: str) -> None:
        update = telegram_update(self.user_id, text, language_code="en")
        assert await self.running.post_telegram(update) == 200

    def answers(self) -> list[str]:
        return [s.text or "" for s in self.fakes.telegram.sent if s.chat_id == self.user_id]

    async def close(self) -> None:
        return None


@dataclass
class PhonePerson:
    """SMS or WhatsApp: a signed Twilio webhook in, the fake Twilio REST API out."""

    running: RunningHub
    fakes: Fakes
    channel: str = "sms"
    phone: str = field(default_factory=lambda: f"+1415555{next(_numbers):04d}")

    @property
    def address(self) -> str:
        return self.phone

    def order_customer(self) -> dict[str, Any]:
        return {"phone": self.phone}

    async def ask(self, text: str) -> None:
        fields = sms(self.phone, text) if self.channel == "sms" else whatsapp(self.phone, text)
        status, _, _ = await post_form(self.running, "/webhooks/twilio/messages", fields)
        assert status == 200

    def answers(self) -> list[str]:
        to = self.phone if self.channel == "sms" else f"whatsapp:{self.phone}"
        return [c.body or "" for c in self.fakes.twilio.sent if c.to == to]

    async def close(self) -> None:
        return None


@dataclass
class MailPerson:
    """SMTP into the hub's listener; answers are what the aiosmtpd relay received."""

    running: RunningHub
    fakes: Fakes
    channel: str = "email"
    email: str = field(default_factory=lambda: f"buyer{next(_numbers)}@customer.test")
    asked: list[str] = field(default_factory=list)  # Message-IDs of what they sent

    @property
    def address(self) -> str:
        return self.email

    def order_customer(self) -> dict[str, Any]:
        return {"email": self.email}

    async def ask(self, text: str) -> None:
        message = EmailMessage()
        message["From"] = self.email
        message["To"] = MAILBOX
        message["Subject"] = "My order"
        message["Message-ID"] = make_msgid(domain="customer.test")
        message.set_content(text)
        self.asked.append(message["Message-ID"])
        server = await eventually(self._listener, what="SMTP listener up")
        port = server.sockets[0].getsockname()[1]
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port, timeout=10)

    async def _listener(self) -> Any:
        return self.running.hub.mail_server

    def mails(self) -> list[EmailMessage]:
        return [m.message for m in self.fakes.relay.received if self.email in m.rcpt_tos]

    def answers(self) -> list[str]:
        return [str(m.get_body(("plain",)).get_content()).strip() for m in self.mails()]  # type: ignore[union-attr]

    async def close(self) -> None:
        return None


@dataclass
class WebchatPerson:
    """A visitor on the shop's site: the web chat WebSocket, with the shop's identify frame
    for a logged-in user (valid `identity_hash`) or a bare claim (`verified=False`)."""

    running: RunningHub
    fakes: Fakes
    channel: str = "webchat"
    email: str = field(default_factory=lambda: f"visitor{next(_numbers)}@customer.test")
    verified: bool = True
    ws: aiohttp.ClientWebSocketResponse | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _sent: int = 0

    @property
    def address(self) -> str:
        """The visitor id: the visitor token without its signature."""
        token = next(f["visitor_token"] for f in self.frames if f["type"] == "welcome")
        return str(token).rpartition(".")[0]

    def order_customer(self) -> dict[str, Any]:
        return {"email": self.email}

    async def ask(self, text: str) -> None:
        if self.ws is None:
            await self._open()
        assert self.ws is not None
        self._sent += 1
        await self.ws.send_json({"type": "message", "text": text, "client_id": f"c{self._sent}"})
        await eventually(lambda: self._acked(self._sent), what="web chat ack")

    async def _open(self) -> None:
        self.ws = await self.running.http.ws_connect(f"{self.running.url}/webchat/ws")
        self._reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send_json({"type": "hello"})
        await eventually(lambda: self._seen("welcome"), what="web chat welcome")
        identify: dict[str, Any] = {"type": "identify", "email": self.email}
        if self.verified:
            proof = hmac.new(HMAC_SECRET.encode(), self.email.encode(), hashlib.sha256)
            identify["identity_hash"] = proof.hexdigest()
        await self.ws.send_json(identify)
        if self.verified:  # a proven identity gets a new welcome with the whole thread
            await eventually(lambda: self._seen("welcome", 2), what="welcome after identify")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.frames.append(message.json())

    async def _seen(self, kind: str, n: int = 1) -> bool:
        return sum(1 for f in self.frames if f["type"] == kind) >= n

    async def _acked(self, n: int) -> bool:
        return await self._seen("ack", n)

    def answers(self) -> list[str]:
        return [
            str(f["text"])
            for f in self.frames
            if f["type"] == "message" and f.get("sender_type") != "customer"
        ]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


def stranger_of(owner: Person, running: RunningHub, fakes: Fakes) -> Person:
    """Someone else on the owner's channel; on the web chat they even claim the owner's
    email, without the shop's proof (an unverified identify)."""
    if isinstance(owner, WebchatPerson):
        return WebchatPerson(running, fakes, email=owner.email, verified=False)
    return person(owner.channel, running, fakes)


def person(channel: str, running: RunningHub, fakes: Fakes, **fields: Any) -> Person:
    if channel == "telegram":
        return TelegramPerson(running, fakes, **fields)
    if channel in ("sms", "whatsapp"):
        return PhonePerson(running, fakes, channel=channel, **fields)
    if channel == "email":
        return MailPerson(running, fakes, **fields)
    if channel == "webchat":
        return WebchatPerson(running, fakes, **fields)
    raise ValueError(channel)


async def settled(running: RunningHub) -> None:
    """Every accepted message routed and answered, every answer handed to its provider: the
    inbound jobs are acked only after the bots' write turn (hub.actions.bots)."""

    async def empty() -> bool:
        queue = running.hub.queue
        return await queue.depth("inbound") == 0 and await queue.depth("outbound") == 0

    await eventually(empty, what="inbound and outbound queues drained")
