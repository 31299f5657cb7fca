"""IMAP polling against a real Dovecot on loopback: mail is APPENDed by the test, fetched by
the hub, queued, stored, then marked seen on the server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aioimaplib
import pytest

from hub.models import Message, MessageSource
from hub.runtime.services import close_hub, open_hub
from hub.runtime.worker import IMAP_TASK, start_consumers
from tests.conftest import make_settings
from tests.factories import customer_of, messages_of
from tests.fakes.smtp_relay import SmtpRelay
from tests.servers import DovecotServer, make_self_signed_cert, start_dovecot
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.mail import LATIN1_MAIL, MAILBOX


def mail(
    sender: str = "Ann Smith <ann@customer.test>",
    text: str = "Where is my parcel?",
    *,
    to: str = MAILBOX,
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Parcel"
    message["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return bytes(message)


class Mailbox:
    """The test's own IMAP session (plain IMAP on loopback) to put mail in and look at flags."""

    def __init__(self, server: DovecotServer) -> None:
        self.server = server
        self.client: aioimaplib.IMAP4 | None = None

    async def _session(self) -> aioimaplib.IMAP4:
        if self.client is None or self.client.get_state() == "LOGOUT":
            client = aioimaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=10)
            await client.wait_hello_from_server()
            assert (await client.login(self.server.user, self.server.password)).result == "OK"
            assert (await client.select("INBOX")).result == "OK"
            self.client = client
        return self.client

    async def append(self, raw: bytes) -> None:
        response = await (await self._session()).append(raw, mailbox="INBOX")
        assert response.result == "OK", response

    async def uids(self, criteria: str) -> list[int]:
        response = await (await self._session()).uid_search(criteria, charset=None)
        assert response.result == "OK", response
        return [int(w) for line in response.lines[:-1] for w in bytes(line).split() if w.isdigit()]

    async def mark_unseen(self, uid: int) -> None:
        client = await self._session()
        assert (await client.uid("store", str(uid), "-FLAGS", r"(\Seen)")).result == "OK"

    def drop(self) -> None:
        """Forget the session (the server was restarted under it)."""
        if self.client is not None and self.client.protocol.transport is not None:
            self.client.protocol.transport.close()
        self.client = None

    async def close(self) -> None:
        if self.client is not None and self.client.get_state() != "LOGOUT":
            await self.client.logout()
        self.drop()


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture
def dovecot(tls_cert: tuple[Path, Path]) -> Iterator[DovecotServer]:
    server = start_dovecot(*tls_cert)
    yield server
    server.stop()


@pytest.fixture
async def mailbox(dovecot: DovecotServer) -> AsyncIterator[Mailbox]:
    box = Mailbox(dovecot)
    yield box
    await box.close()


async def hub_polling(
    backend_urls: dict[str, Any], relay: SmtpRelay, imap_url: str, **extra: Any
) -> RunningHub:
    settings = make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        email_address=MAILBOX,
        smtp_url=relay.url,
        imap_url=imap_url,
        **extra,
    )
    settings.check()
    return await start_hub(settings)


@pytest.fixture
async def imap_hub(
    backend_urls: dict[str, Any],
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    tls_cert: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningHub]:
    """The hub on imaps://, trusting the test certificate the way an operator would trust a
    private CA: OpenSSL's SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cert[0]))
    running = await hub_polling(backend_urls, smtp_relay, dovecot.url(tls=True))
    yield running
    await stop_hub(running)


async def _inbound(running: RunningHub, n: int = 1) -> list[Message] | None:
    found = await messages_of(running.hub, channel="email", direction="inbound")
    return found if len(found) >= n else None


async def _seen(box: Mailbox, n: int = 1) -> list[int] | None:
    seen = await box.uids("SEEN")
    return seen if len(seen) >= n else None


async def test_an_appended_mail_lands_in_the_customers_thread_and_is_marked_seen(
    imap_hub: RunningHub, mailbox: Mailbox
) -> None:
    await mailbox.append(mail())
    [stored] = await eventually(lambda: _inbound(imap_hub), what="the mail stored")
    assert stored.text == "Where is my parcel?" and stored.address == "ann@customer.test"
    customer = await customer_of(imap_hub.hub, "email", "ann@customer.test")
    assert customer is not None and customer.name == "Ann Smith"
    assert stored.customer_id == customer.id
    assert await eventually(lambda: _seen(mailbox)) == [1]
    assert await mailbox.uids("UNSEEN") == []
    # A second mail of the same customer joins the same thread.
    await mailbox.append(mail(text="Any news?"))
    stored_two = await eventually(lambda: _inbound(imap_hub, 2))
    assert stored_two[1].conversation_id == stored.conversation_id


async def test_an_auto_reply_is_stored_flagged_and_never_answered(
    imap_hub: RunningHub, mailbox: Mailbox, smtp_relay: SmtpRelay
) -> None:
    await mailbox.append(
        mail("ooo@customer.test", "I am out of office", Auto_Submitted="auto-replied")
    )
    [stored] = await eventually(lambda: _inbound(imap_hub))
    assert stored.automated
    await eventually(lambda: _seen(mailbox))
    assert await messages_of(imap_hub.hub, direction="outbound", private=False) == []
    from hub.errors import InvalidInput

    with pytest.raises(InvalidInput):
        await operator_reply(imap_hub, stored.conversation_id, "never sent")
    assert smtp_relay.received == []


async def test_the_same_mail_appended_twice_is_stored_once(
    imap_hub: RunningHub, mailbox: Mailbox
) -> None:
    raw = mail()
    await mailbox.append(raw)
    await mailbox.append(raw)
    assert await eventually(lambda: _seen(mailbox, 2)) == [1, 2]
    await eventually(lambda: _drained(imap_hub))
    assert len(await messages_of(imap_hub.hub, channel="email", direction="inbound")) == 1


async def test_a_mail_queued_but_not_marked_seen_before_a_crash_is_stored_once(
    imap_hub: RunningHub, mailbox: Mailbox
) -> None:
    await mailbox.append(mail())
    [stored] = await eventually(lambda: _inbound(imap_hub))
    [uid] = await eventually(lambda: _seen(mailbox))
    # What a crash between "queued" and "marked seen" leaves behind: the mail unseen again.
    await mailbox.mark_unseen(uid)
    assert await eventually(lambda: _seen(mailbox)) == [uid]  # fetched and queued again
    await eventually(lambda: _drained(imap_hub))
    assert [m.id for m in await messages_of(imap_hub.hub, channel="email")] == [stored.id]


async def test_mail_for_another_address_is_not_stored_and_stays_unseen(
    imap_hub: RunningHub, mailbox: Mailbox
) -> None:
    await mailbox.append(mail("eve@customer.test", "hello other", to="sales@shop.test"))
    await mailbox.append(mail("bob@customer.test", "hello support", Cc=MAILBOX, to="x@y.test"))
    [stored] = await eventually(lambda: _inbound(imap_hub))
    assert stored.text == "hello support"
    await eventually(lambda: _seen(mailbox))
    assert await mailbox.uids("UNSEEN") == [1]
    assert len(await messages_of(imap_hub.hub, channel="email")) == 1


async def test_a_mail_over_the_size_limit_is_not_downloaded_and_stays_unseen(
    imap_hub: RunningHub, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.intake.imap_polling.MAX_MAIL_BYTES", 2000)  # the listener's is 10 MiB
    await mailbox.append(mail("big@customer.test", "x" * 3000))
    await mailbox.append(mail("small@customer.test", "small"))
    [stored] = await eventually(lambda: _inbound(imap_hub))
    assert stored.text == "small"
    await eventually(lambda: _seen(mailbox))
    assert await mailbox.uids("UNSEEN") == [1]


async def test_the_exact_bytes_of_a_latin1_mail_are_kept(
    imap_hub: RunningHub, mailbox: Mailbox
) -> None:
    await mailbox.append(LATIN1_MAIL)
    [stored] = await eventually(lambda: _inbound(imap_hub))
    assert stored.text == "Le café est arrivé froid ¤ ÿ."
    async with imap_hub.hub.db.session() as session:
        source = await session.get(MessageSource, stored.id)
    assert source is not None and source.raw == LATIN1_MAIL


async def test_the_poller_survives_a_server_restart_and_fetches_what_came_meanwhile(
    imap_hub: RunningHub,
    mailbox: Mailbox,
    dovecot: DovecotServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub.intake.imap_polling")
    await mailbox.append(mail())
    await eventually(lambda: _inbound(imap_hub))
    await eventually(lambda: _seen(mailbox))
    mailbox.drop()
    dovecot.down()

    async def retrying() -> bool:  # a reconnect was tried and refused: it backs off
        return any("reconnecting in 2 s" in r.getMessage() for r in caplog.records)

    await eventually(retrying, what="a refused reconnect")
    dovecot.up()
    await mailbox.append(mail("bob@customer.test", "Sent while you were away"))
    stored = await eventually(lambda: _inbound(imap_hub, 2), timeout=20)
    assert stored[1].text == "Sent while you were away"
    assert await eventually(lambda: _seen(mailbox, 2)) == [1, 2]
    assert any(r.levelno == logging.WARNING for r in caplog.records)


async def test_plain_imap_on_loopback_without_idle_is_polled(
    backend_urls: dict[str, Any],
    smtp_relay: SmtpRelay,
    tls_cert: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub.intake.imap_polling")
    server = start_dovecot(*tls_cert, idle=False)
    box = Mailbox(server)
    running = await hub_polling(
        backend_urls, smtp_relay, server.url(tls=False), imap_poll_seconds=1.0
    )
    try:
        await box.append(mail())
        [stored] = await eventually(lambda: _inbound(running))
        assert stored.text == "Where is my parcel?"
        await eventually(lambda: _seen(box))
        [opened] = [r for r in caplog.records if r.getMessage() == "IMAP mailbox open"]
        assert opened.idle is False  # type: ignore[attr-defined]
    finally:
        await box.close()
        await stop_hub(running)
        server.stop()


async def test_only_hub_run_and_hub_worker_mail_poll_and_shutdown_stops_the_poller(
    backend_urls: dict[str, Any],
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    mailbox: Mailbox,
) -> None:
    settings = make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        email_address=MAILBOX,
        smtp_url=smtp_relay.url,
        imap_url=dovecot.url(tls=False),
    )
    plain = await open_hub(settings)  # a plain `hub worker`: consumers only
    start_consumers(plain, "worker")
    assert IMAP_TASK not in {t.get_name() for t in plain.tasks}
    await close_hub(plain)

    hub = await open_hub(settings)  # `hub worker --mail`
    start_consumers(hub, "worker", mail=True)
    await mailbox.append(mail())
    await eventually(lambda: _seen(mailbox))
    await close_hub(hub)  # the poller is in IDLE: it ends it and logs out
    assert all(t.done() for t in hub.tasks)


async def _drained(running: RunningHub) -> bool:
    return await running.hub.queue.depth("inbound") == 0
