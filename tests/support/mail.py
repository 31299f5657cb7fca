"""The email channel in tests: a mailbox, a hub that listens for it, mails as customers
write them, delivered over SMTP to the hub's listener."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiohttp
import aiosmtplib

from hub.actions.operators import do_create_operator
from hub.settings import Settings
from tests.conftest import make_settings
from tests.fakes.smtp_relay import SmtpRelay
from tests.support.api import PASSWORD, Browser
from tests.support.polling import eventually
from tests.support.running import RunningHub

MAILBOX = "support@shop.test"


def mail_settings(backend_urls: dict[str, Any], relay: SmtpRelay, **extra: Any) -> Settings:
    """A hub with only the email channel: its own SMTP listener in, `relay` out."""
    settings = make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        email_address=MAILBOX,
        smtp_url=relay.url,
        smtp_listen="127.0.0.1:0",
        **extra,
    )
    settings.check()
    return settings


def mail(
    sender: str = "Ann Smith <ann@customer.test>",
    text: str = "Where is my parcel?",
    subject: str = "Parcel",
    *,
    html: str | None = None,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def deliver(running: RunningHub, message: EmailMessage, sender: str | None = None) -> None:
    server = await eventually(lambda: smtp_listener(running), what="SMTP listener up")
    port = server.sockets[0].getsockname()[1]
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=sender, timeout=10)


async def smtp_listener(running: RunningHub) -> object:
    return running.hub.mail_server


# ISO-8859-1 with an 8-bit body: not UTF-8, so any decoding on the way would change it.
LATIN1_MAIL = (
    b"From: =?iso-8859-1?q?Ren=E9e?= <renee@customer.test>\r\n"
    b"To: support@shop.test\r\n"
    b"Subject: =?iso-8859-1?q?Caf=E9_froid?=\r\n"
    b"Message-ID: <latin1-1@customer.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Le caf\xe9 est arriv\xe9 froid \xa4 \xff.\r\n"
)


async def signed_in(running: RunningHub, http: aiohttp.ClientSession) -> Browser:
    async with running.hub.db.session() as session:
        await do_create_operator(
            session, email="olga@shop.test", name="Olga", role="agent", password=PASSWORD
        )
        await session.commit()
    browser = Browser(running, http)
    assert await browser.sign_in("olga@shop.test") == 303
    return browser
