"""Hostile mail through the real SMTP listener: never lost, never a stalled hub.

A NUL in a header and an unknown charset are stored (cleaned, decoded with a fallback);
a mail whose quote stripping would run for minutes is stored with its raw text and
flagged, while `/healthz` keeps answering.
"""

from __future__ import annotations

import asyncio
import quopri
import time

import aiohttp
import aiosmtplib
import pytest

from hub.intake import mail_parsing
from hub.models import Message
from tests.factories import messages_of
from tests.support import RunningHub, eventually
from tests.support.mail import MAILBOX, deliver, mail, signed_in


async def _stored(running: RunningHub, address: str) -> Message | None:
    found = await messages_of(running.hub, channel="email", address=address)
    return found[0] if found else None


async def _subject_of(running: RunningHub, message_id: int) -> str | None:
    from hub.models import MessageSource

    async with running.hub.db.session() as session:
        source = await session.get(MessageSource, message_id)
    return source.subject if source else None


async def test_a_nul_in_the_from_name_and_subject_is_stored_cleaned(mail_hub: RunningHub) -> None:
    """On PostgreSQL such a mail was answered 250, then dead-lettered after 8 tries."""
    raw = (
        "From: =?utf-8?q?Na=00me?= <nul@customer.test>\r\n"
        f"To: {MAILBOX}\r\n"
        "Subject: =?utf-8?q?Sub=00ject?=\r\n"
        "Message-ID: <nul-1@customer.test>\r\n"
        "\r\n"
        "Hello with a NUL\r\n"
    ).encode()
    port = mail_hub.hub.mail_server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await aiosmtplib.send(
        raw, sender="nul@customer.test", recipients=[MAILBOX], hostname="127.0.0.1", port=port
    )
    stored = await eventually(lambda: _stored(mail_hub, "nul@customer.test"), timeout=20)
    assert stored.text == "Hello with a NUL"
    assert await _subject_of(mail_hub, stored.id or 0) == "Sub\ufffdject"


async def test_a_mail_in_an_unknown_charset_is_stored_not_bounced(mail_hub: RunningHub) -> None:
    message = mail("Kim <kim@customer.test>", "placeholder")
    message.set_payload("Caf\xe9 ol\xe9".encode("latin-1"))
    del message["Content-Type"]
    del message["Content-Transfer-Encoding"]
    message["Content-Type"] = "text/plain; charset=x-no-such-charset"
    message["Content-Transfer-Encoding"] = "8bit"
    await deliver(mail_hub, message)  # a 550 would raise here
    stored = await eventually(lambda: _stored(mail_hub, "kim@customer.test"), timeout=20)
    assert stored.text == "Café olé"


async def test_a_mail_that_parses_for_minutes_is_kept_raw_and_the_hub_stays_responsive(
    mail_hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One quoted-printable line "On a a a ..." of 33 KB froze the hub for 16.8 s."""
    monkeypatch.setattr(mail_parsing, "BUDGET_SECONDS", 1.0)
    await deliver(mail_hub, mail("Warm <warm@customer.test>", "warming the parser up"))
    await eventually(lambda: _stored(mail_hub, "warm@customer.test"), timeout=30)
    line = "On " + "a " * 16_000
    raw = (
        "From: Slow <slow@customer.test>\r\n"
        f"To: {MAILBOX}\r\n"
        "Subject: slow\r\n"
        "Message-ID: <slow-1@customer.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
    ).encode() + quopri.encodestring(line.encode())
    port = mail_hub.hub.mail_server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sending = asyncio.create_task(
        aiosmtplib.send(
            raw,
            sender="slow@customer.test",
            recipients=[MAILBOX],
            hostname="127.0.0.1",
            port=port,
            timeout=30,
        )
    )
    slowest = 0.0
    while not sending.done():
        started = time.monotonic()
        async with mail_hub.http.get(f"{mail_hub.url}/healthz") as response:
            assert response.status == 200
        slowest = max(slowest, time.monotonic() - started)
        await asyncio.wait({sending}, timeout=0.05)
    await sending  # answered 250
    assert slowest < 1.0, slowest
    stored = await eventually(lambda: _stored(mail_hub, "slow@customer.test"), timeout=20)
    assert stored.text.startswith("On a a a") and len(stored.text) >= len(line.strip())
    assert stored.error and "budget" in stored.error
    # Operators see that only the raw text was kept, and why.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = await signed_in(mail_hub, http)
        status, page, _ = await browser.get(f"/inbox/conversations/{stored.conversation_id}")
    assert status == 200 and "data-unparsed" in page and "budget" in page
    # The stuck worker was replaced: the next mail is read in full again (quotes cut).
    await deliver(mail_hub, mail("Next <next@customer.test>", "Thanks!\n\n> the old quote"))
    after = await eventually(lambda: _stored(mail_hub, "next@customer.test"), timeout=60)
    assert after.text == "Thanks!" and after.error is None
