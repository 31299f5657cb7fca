"""Email end to end: the hub's SMTP listener on loopback in, a real aiosmtpd relay out."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest
from sqlalchemy import select

from hub.models import Message, MessageSource
from tests.channels.conftest import MAILBOX
from tests.factories import count, customer_of, messages_of
from tests.fakes.smtp_relay import RelayedMail, SmtpRelay
from tests.support import RunningHub, eventually, operator_reply


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
    server = await eventually(lambda: _listener(running), what="SMTP listener up")
    port = server.sockets[0].getsockname()[1]
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=sender, timeout=10)


async def _listener(running: RunningHub) -> object:
    return running.hub.mail_server


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
        server = await eventually(lambda: _listener(mail_hub))
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
    assert source is not None and "Your parcel is on its way." in source.raw
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
