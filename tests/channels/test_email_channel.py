"""Email end to end: the hub's SMTP listener on loopback in, a real aiosmtpd relay out."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, text

from hub.errors import ConfigurationError
from hub.models import Message, MessageSource
from hub.resources import migrations_dir
from tests.conftest import make_settings
from tests.factories import count, customer_of, messages_of
from tests.fakes.smtp_relay import RelayedMail, SmtpRelay
from tests.servers import make_self_signed_cert
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.api import Browser
from tests.support.mail import (
    LATIN1_MAIL,
    MAILBOX,
    deliver,
    mail,
    mail_settings,
    signed_in,
    smtp_listener,
)


async def _inbound(running: RunningHub, n: int = 1) -> list[Message] | None:
    found = await messages_of(running.hub, channel="email", direction="inbound")
    return found if len(found) >= n else None


async def _relayed(relay: SmtpRelay, text: str) -> list[RelayedMail]:
    return [m for m in relay.received if text in m.message.get_content()]


async def test_a_mail_is_queued_before_250_and_lands_in_the_senders_thread(
    mail_hub: RunningHub,
) -> None:
    await deliver(mail_hub, mail())
    # The 250 came after the durable enqueue: the event is in the queue or already routed.
    assert await mail_hub.hub.queue.depth("inbound") + await count(mail_hub.hub, Message) >= 1
    [stored] = await eventually(lambda: _inbound(mail_hub))
    assert stored.text == "Where is my parcel?" and stored.address == "ann@customer.test"
    assert stored.external_id is not None and stored.external_id.startswith("<")
    customer = await customer_of(mail_hub.hub, "email", "ann@customer.test")
    assert customer is not None and customer.name == "Ann Smith"


async def test_mail_for_another_address_is_refused(mail_hub: RunningHub) -> None:
    message = mail()
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        server = await eventually(lambda: smtp_listener(mail_hub))
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        await aiosmtplib.send(
            message, hostname="127.0.0.1", port=port, recipients=["other@shop.test"], timeout=10
        )
    assert await count(mail_hub.hub, Message) == 0


async def test_quote_and_signature_are_stripped_and_the_original_kept(
    mail_hub: RunningHub,
) -> None:
    body = (
        "Thanks, it arrived today.\n\n-- \nAnn Smith\nAcme Ltd\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Support <support@shop.test> wrote:\n"
        "> Your parcel is on its way.\n> Tracking: https://track.test/1\n"
    )
    await deliver(mail_hub, mail(text=body))
    [stored] = await eventually(lambda: _inbound(mail_hub))
    assert stored.text == "Thanks, it arrived today."
    async with mail_hub.hub.db.session() as session:
        source = await session.get(MessageSource, stored.id)
    assert source is not None and b"Your parcel is on its way." in source.raw
    assert source.subject == "Parcel"


async def test_html_mail_is_sanitised_before_any_operator_sees_it(mail_hub: RunningHub) -> None:
    html = (
        '<p>Hello<script>alert("x")</script></p><p onclick="steal()">'
        '<a href="javascript:evil()">click</a> <b>bold</b></p>'
    )
    message = EmailMessage()
    message["From"] = "bob@customer.test"
    message["To"] = MAILBOX
    message["Subject"] = "html only"
    message["Message-ID"] = make_msgid(domain="customer.test")
    message.set_content(html, subtype="html")
    await deliver(mail_hub, message)
    [stored] = await eventually(lambda: _inbound(mail_hub))
    assert "script" not in stored.text and "Hello" in stored.text and "bold" in stored.text
    async with mail_hub.hub.db.session() as session:
        source = await session.get(MessageSource, stored.id)
    assert source is not None and source.html is not None
    assert "<script" not in source.html and "onclick" not in source.html
    assert "javascript:" not in source.html and "<b>bold</b>" in source.html


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X_Autoreply": "yes"}],
)
async def test_auto_replies_and_bulk_are_stored_flagged_and_never_answered(
    mail_hub: RunningHub, smtp_relay: SmtpRelay, headers: dict[str, str]
) -> None:
    await deliver(mail_hub, mail("ooo@customer.test", "I am out of office", **headers))
    [stored] = await eventually(lambda: _inbound(mail_hub))
    assert stored.automated
    outbound = await messages_of(mail_hub.hub, direction="outbound", private=False)
    assert outbound == []  # no bot answer
    from hub.errors import InvalidInput

    with pytest.raises(InvalidInput):
        await operator_reply(mail_hub, stored.conversation_id, "never sent")
    assert smtp_relay.received == []


async def test_a_bounce_with_an_empty_return_path_is_flagged(mail_hub: RunningHub) -> None:
    await deliver(mail_hub, mail("MAILER-DAEMON@mx.test", "Delivery failed"), sender="")
    [stored] = await eventually(lambda: _inbound(mail_hub))
    assert stored.automated


async def test_an_operator_reply_keeps_the_customers_mail_threading(
    mail_hub: RunningHub, smtp_relay: SmtpRelay
) -> None:
    first = mail(subject="Order 1042", References="<older@customer.test>")
    await deliver(mail_hub, first)
    [inbound] = await eventually(lambda: _inbound(mail_hub))
    message_id = await operator_reply(mail_hub, inbound.conversation_id, "It ships today.")
    [relayed] = await eventually(lambda: _relayed(smtp_relay, "It ships today."))
    sent = relayed.message
    assert relayed.rcpt_tos == ["ann@customer.test"] and sent["From"] == MAILBOX
    assert sent["Subject"] == "Re: Order 1042"
    assert sent["In-Reply-To"] == first["Message-ID"]
    assert sent["References"].split() == ["<older@customer.test>", first["Message-ID"]]
    assert sent.get_content_type() == "text/plain"
    assert sent["Message-ID"] and sent["Message-ID"] != first["Message-ID"]

    async def stored_id() -> Message | None:
        async with mail_hub.hub.db.session() as session:
            found = await session.get(Message, message_id)
        return found if found is not None and found.status == "sent" else None

    assert (await eventually(stored_id)).external_id == sent["Message-ID"]

    # The customer answers our mail from another address: In-Reply-To finds the thread.
    answer = mail(
        "Ann at work <ann@work.test>",
        "Great, thanks!\n\n> It ships today.",
        "Re: Order 1042",
        In_Reply_To=sent["Message-ID"],
        References=f"{first['Message-ID']} {sent['Message-ID']}",
    )
    await deliver(mail_hub, answer)
    stored = await eventually(lambda: _inbound(mail_hub, 2))
    assert stored[1].conversation_id == inbound.conversation_id
    assert stored[1].text == "Great, thanks!"
    await deliver(mail_hub, answer)  # the same Message-ID again: stored once
    await eventually(lambda: _drained(mail_hub))
    assert len(await messages_of(mail_hub.hub, channel="email", direction="inbound")) == 2


async def _nothing_queued(running: RunningHub) -> bool:
    return not await messages_of(running.hub, status="queued")


async def _drained(running: RunningHub) -> bool:
    return await running.hub.queue.depth("inbound") == 0


async def test_a_relay_that_refuses_ends_the_reply_failed(
    mail_hub: RunningHub, smtp_relay: SmtpRelay
) -> None:
    await deliver(mail_hub, mail())
    [inbound] = await eventually(lambda: _inbound(mail_hub))
    await eventually(lambda: _nothing_queued(mail_hub), what="the bot's answer sent")
    smtp_relay.refuse_next("550 5.1.1 no such user")
    message_id = await operator_reply(mail_hub, inbound.conversation_id, "refused")

    async def failed() -> Message | None:
        async with mail_hub.hub.db.session() as session:
            found = await session.scalar(select(Message).where(Message.id == message_id))  # type: ignore[arg-type]
        return found if found is not None and found.status == "failed" else None

    assert "550" in ((await eventually(failed)).error or "")


# --------------------------------------------------------------- the original, byte for byte


async def original_of(browser: Browser, message_id: int) -> tuple[int, bytes, Any]:
    url = f"{browser.url}/inbox/messages/{message_id}/original"
    async with browser.http.get(url, allow_redirects=False) as response:
        return response.status, await response.read(), response.headers


async def test_a_latin1_mail_is_kept_and_served_byte_for_byte(mail_hub: RunningHub) -> None:
    server = await eventually(lambda: smtp_listener(mail_hub), what="SMTP listener up")
    port = server.sockets[0].getsockname()[1]
    await aiosmtplib.send(
        LATIN1_MAIL,
        sender="renee@customer.test",
        recipients=[MAILBOX],
        hostname="127.0.0.1",
        port=port,
        timeout=10,
    )
    [stored] = await eventually(lambda: _inbound(mail_hub))
    assert stored.text == "Le café est arrivé froid ¤ ÿ."
    async with mail_hub.hub.db.session() as session:
        source = await session.get(MessageSource, stored.id)
    assert source is not None and source.raw == LATIN1_MAIL and source.subject == "Café froid"

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        anonymous = Browser(mail_hub, http)
        status, _, _ = await anonymous.get(f"/inbox/messages/{stored.id}/original")
        assert status in (302, 303)  # to the login form, nothing served
        browser = await signed_in(mail_hub, http)
        _, thread, _ = await browser.get(f"/inbox/conversations/{stored.conversation_id}")
        assert f'href="/inbox/messages/{stored.id}/original"' in thread
        status, body, headers = await original_of(browser, stored.id)
        assert status == 200 and body == LATIN1_MAIL
        assert headers["Content-Type"] == "message/rfc822"
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, _, _ = await original_of(browser, stored.id + 1000)
        assert status == 404


def _migration(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, migrations_dir() / "versions" / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_originals_stored_as_text_become_their_utf8_bytes_on_upgrade(
    mail_hub: RunningHub,
) -> None:
    """The 0004_mail_bytes revision on existing rows, both ways, on SQLite and PostgreSQL."""
    await deliver(mail_hub, mail(text="Привет, где заказ?"))
    [stored] = await eventually(lambda: _inbound(mail_hub))
    revision = _migration("0004_mail_bytes.py")
    # Two statements: asyncpg refuses a prepared statement whose result type changed.
    read = text("SELECT raw FROM message_sources WHERE message_id = :id")
    read_again = text("SELECT raw AS original FROM message_sources WHERE message_id = :id")

    def down_then_up(connection: Connection) -> tuple[Any, Any]:
        with Operations.context(MigrationContext.configure(connection)):
            revision.downgrade()
            as_text = connection.execute(read, {"id": stored.id}).scalar_one()
            revision.upgrade()
        return as_text, connection.execute(read_again, {"id": stored.id}).scalar_one()

    async with mail_hub.hub.db.engine.begin() as connection:
        as_text, as_bytes = await connection.run_sync(down_then_up)
    assert isinstance(as_text, str) and "Привет, где заказ?" in as_text
    assert bytes(as_bytes) == as_text.encode("utf-8")


# --------------------------------------------------------------------------- STARTTLS


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def tls_mail_hub(
    backend_urls: dict[str, Any], smtp_relay: SmtpRelay, tls_cert: tuple[Path, Path]
) -> AsyncIterator[RunningHub]:
    settings = mail_settings(
        backend_urls, smtp_relay, smtp_tls_cert=tls_cert[0], smtp_tls_key=tls_cert[1]
    )
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def _smtp_client(running: RunningHub) -> aiosmtplib.SMTP:
    server = await eventually(lambda: smtp_listener(running), what="SMTP listener up")
    port = server.sockets[0].getsockname()[1]
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=10)
    await client.connect()
    await client.ehlo()
    return client


async def test_the_listener_offers_starttls_when_a_certificate_is_configured(
    tls_mail_hub: RunningHub, tls_cert: tuple[Path, Path]
) -> None:
    client = await _smtp_client(tls_mail_hub)
    assert client.supports_extension("starttls")
    await client.starttls(cert_bundle=str(tls_cert[0]))  # verifies our certificate
    assert client.get_transport_info("sslcontext") is not None
    await client.send_message(mail(text="Sent over TLS"))
    await client.quit()
    # Plain SMTP stays accepted: a relaying MX may not do TLS.
    plain = await _smtp_client(tls_mail_hub)
    await plain.send_message(mail("bob@customer.test", "Sent in the clear"))
    await plain.quit()
    stored = await eventually(lambda: _inbound(tls_mail_hub, 2))
    assert sorted(m.text for m in stored) == ["Sent in the clear", "Sent over TLS"]


async def test_without_a_certificate_starttls_is_not_offered(mail_hub: RunningHub) -> None:
    client = await _smtp_client(mail_hub)
    assert not client.supports_extension("starttls")
    await client.quit()


def _tls_settings(**values: Any) -> None:
    base = {
        "email_address": MAILBOX,
        "smtp_url": "smtp://relay.test:25",
        "smtp_listen": "127.0.0.1:2525",
    }
    make_settings(**{**base, **values}).check()


def test_a_certificate_needs_its_key_and_both_must_be_readable(
    tls_cert: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = tls_cert
    _tls_settings(smtp_tls_cert=cert, smtp_tls_key=key)
    with pytest.raises(ConfigurationError, match="HUB_SMTP_TLS_KEY is required"):
        _tls_settings(smtp_tls_cert=cert)
    with pytest.raises(ConfigurationError, match="HUB_SMTP_TLS_CERT is required"):
        _tls_settings(smtp_tls_key=key)
    with pytest.raises(ConfigurationError, match="HUB_SMTP_TLS_CERT: cannot read"):
        _tls_settings(smtp_tls_cert=tmp_path / "missing.pem", smtp_tls_key=key)
    with pytest.raises(ConfigurationError, match="HUB_SMTP_TLS_KEY: cannot read"):
        _tls_settings(smtp_tls_cert=cert, smtp_tls_key=tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="HUB_SMTP_TLS_CERT"):
        _tls_settings(smtp_tls_cert=garbage, smtp_tls_key=key)
    with pytest.raises(ConfigurationError, match="HUB_SMTP_TLS_CERT"):
        _tls_settings(smtp_tls_cert=key, smtp_tls_key=cert)
    with pytest.raises(ConfigurationError, match="HUB_EMAIL_ADDRESS is required"):
        make_settings(smtp_tls_cert=cert, smtp_tls_key=key).check()
