"""A customer on one channel, writing through the hub's real endpoint and reading what the
fake provider received for them: one shape for Telegram, SMS, WhatsApp, email and web chat."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import aiosmtplib

from hub.settings import Settings
from tests.conftest import TELEGRAM_SECRET
from tests.factories import telegram_update
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support.mail import MAILBOX
from tests.support.polling import eventually
from tests.support.running import RunningHub
from tests.support.twilio import post_form, sms, twilio_settings, whatsapp
from tests.support.webchat_visitor import HMAC_SECRET, Visitor

CHANNELS = ("telegram", "sms", "whatsapp", "email", "webchat")
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
    visitor: Visitor | None = None

    @property
    def address(self) -> str:
        """The visitor id: the visitor token without its signature."""
        assert self.visitor is not None
        return self.visitor.visitor_id

    def order_customer(self) -> dict[str, Any]:
        return {"email": self.email}

    async def ask(self, text: str) -> None:
        if self.visitor is None:
            self.visitor = await Visitor(self.running).open()
            await self.visitor.identify(email=self.email, proven=self.verified)
        await self.visitor.say(text)

    def answers(self) -> list[str]:
        return [] if self.visitor is None else self.visitor.heard()

    async def close(self) -> None:
        if self.visitor is not None:
            await self.visitor.close()


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


def every_channel_settings(backend_urls: dict[str, Any], fakes: Fakes) -> Settings:
    """Telegram, SMS, WhatsApp, email and web chat on, each against its fake provider."""
    settings = twilio_settings(
        backend_urls,
        fakes.twilio.base_url,
        bots=True,
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=fakes.telegram.base_url,
        webchat_hmac_secret=HMAC_SECRET,
        email_address=MAILBOX,
        smtp_url=fakes.relay.url,
        smtp_listen="127.0.0.1:0",
    )
    settings.check()
    return settings
