"""Mail loops: with the bots on, the hub answers a customer once and never answers mail that
is its own, a bounce, or an auto-reply, so no two robots ever talk to each other forever.

Everything goes through the hub's real SMTP listener and out through the aiosmtpd relay; each
test waits for the queues to drain (every accepted mail routed, every answer handed to the
relay) and then counts exactly what reached the relay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import pytest

from hub.models import Message
from tests.factories import messages_of
from tests.fakes.smtp_relay import RelayedMail, SmtpRelay
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import Api, make_api
from tests.support.mail import MAILBOX, mail_settings
from tests.support.people import settled

CUSTOMER = "ann@customer.test"
ORDER = "1042"


@pytest.fixture
async def bot_mail_hub(
    backend_urls: dict[str, Any], smtp_relay: SmtpRelay
) -> AsyncIterator[RunningHub]:
    running = await start_hub(mail_settings(backend_urls, smtp_relay, bots=True))
    yield running
    await stop_hub(running)


@pytest.fixture
async def api(bot_mail_hub: RunningHub) -> Api:
    return await make_api(bot_mail_hub, "anna@shop.test", "Anna")


def mail(
    sender: str,
    text: str,
    subject: str,
    *,
    replying_to: str | None = None,
    content_type: str | None = None,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    if replying_to:
        message["In-Reply-To"] = replying_to
        message["References"] = replying_to
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    if content_type == "multipart/report":  # a delivery status notification (RFC 3464)
        message.make_mixed()
        message.set_type("multipart/report")
        message.set_param("report-type", "delivery-status")
        returned = EmailMessage()  # the headers of the mail that bounced
        returned.set_content(f"From: {MAILBOX}\nSubject: Re: My order\n")
        returned.set_type("text/rfc822-headers")
        message.attach(returned)
    return message


async def deliver(running: RunningHub, message: EmailMessage, envelope_from: str) -> None:
    """Over SMTP to the hub's listener, `MAIL FROM:<envelope_from>` (empty for a bounce)."""

    async def listening() -> Any:
        return running.hub.mail_server

    server = await eventually(listening, what="SMTP listener up")
    port = server.sockets[0].getsockname()[1]
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10) as smtp:
        await smtp.sendmail(envelope_from, [MAILBOX], message.as_bytes())


async def stored(running: RunningHub, n: int) -> list[Message] | None:
    found = await messages_of(running.hub, channel="email", direction="inbound")
    return found if len(found) >= n else None


async def the_bot_answers_the_customer_once(
    running: RunningHub, api: Api, relay: SmtpRelay
) -> RelayedMail:
    order = {"customer": {"email": CUSTOMER, "name": "Ann"}, "status": "shipped"}
    code, data, _ = await api.call("PUT", f"/orders/{ORDER}", order)
    assert code == 201, data
    question = mail(f"Ann <{CUSTOMER}>", f"where is my order {ORDER}?", "My order")
    await deliver(running, question, CUSTOMER)
    await eventually(lambda: _relayed(relay, 1), what="the bot's answer relayed")
    await settled(running)
    [answer] = relay.received
    assert answer.rcpt_tos == [CUSTOMER] and ORDER in answer.message.get_content()
    assert answer.message["In-Reply-To"] == question["Message-ID"]
    return answer


async def _relayed(relay: SmtpRelay, n: int) -> bool:
    return len(relay.received) >= n


async def test_a_customers_auto_responder_answering_the_bot_gets_no_answer(
    bot_mail_hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    answer = await the_bot_answers_the_customer_once(bot_mail_hub, api, smtp_relay)
    bots_id = str(answer.message["Message-ID"])
    quoted = f"I am away until Monday.\n\n> Order {ORDER} is shipped.\n> where is my order {ORDER}?"
    # RFC 3834 auto-reply, an Exchange out-of-office without Auto-Submitted, and an
    # auto-responder that sets nothing but its subject: each quotes the order number back.
    for reply in (
        mail(
            CUSTOMER,
            quoted,
            "Auto: Re: My order",
            replying_to=bots_id,
            Auto_Submitted="auto-replied",
        ),
        mail(
            CUSTOMER,
            quoted,
            "Automatic reply: Re: My order",
            replying_to=bots_id,
            X_Auto_Response_Suppress="All",
        ),
        mail(CUSTOMER, quoted, "Out of Office: Re: My order", replying_to=bots_id),
        mail(CUSTOMER, quoted, "Автоответ: Re: My order", replying_to=bots_id),
    ):
        await deliver(bot_mail_hub, reply, CUSTOMER)
    await eventually(lambda: stored(bot_mail_hub, 5), what="the auto-replies stored")
    await settled(bot_mail_hub)
    assert smtp_relay.received == [answer]  # nothing more went out
    kept = await messages_of(bot_mail_hub.hub, channel="email", direction="inbound")
    assert [m.automated for m in kept] == [False, True, True, True, True]


async def test_mail_from_the_hubs_own_address_is_never_answered(
    bot_mail_hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    answer = await the_bot_answers_the_customer_once(bot_mail_hub, api, smtp_relay)
    # The hub's own answer coming back (a forward rule, a BCC to the mailbox), and a mail
    # simply sent from the support address to itself.
    echo = mail(f"Support <{MAILBOX}>", answer.message.get_content(), "Re: My order")
    selfmail = mail(MAILBOX, f"where is my order {ORDER}?", "test")
    for message in (echo, selfmail):
        await deliver(bot_mail_hub, message, MAILBOX)
    await eventually(lambda: stored(bot_mail_hub, 3), what="the hub's own mails stored")
    await settled(bot_mail_hub)
    assert smtp_relay.received == [answer]


async def test_bounces_from_mailer_daemons_are_never_answered(
    bot_mail_hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    answer = await the_bot_answers_the_customer_once(bot_mail_hub, api, smtp_relay)
    bots_id = str(answer.message["Message-ID"])
    failed = f"Delivery failed.\n\nwhere is my order {ORDER}?"
    daemon = "MAILER-DAEMON@mx.customer.test"
    for message, envelope_from in (
        # A delivery status notification: empty return path, multipart/report.
        (
            mail(
                daemon,
                failed,
                "Undelivered Mail Returned to Sender",
                replying_to=bots_id,
                content_type="multipart/report",
            ),
            "",
        ),
        # Only the empty return path gives it away.
        (mail(daemon, failed, "Delivery Status Notification (Failure)"), ""),
        # A daemon that does give a return path, and a plain text body.
        (mail(f"Mail Delivery System <{daemon}>", failed, "Mail delivery failed"), daemon),
    ):
        await deliver(bot_mail_hub, message, envelope_from)
    await eventually(lambda: stored(bot_mail_hub, 4), what="the bounces stored")
    await settled(bot_mail_hub)
    assert smtp_relay.received == [answer]
    kept = await messages_of(bot_mail_hub.hub, channel="email", direction="inbound")
    assert [m.automated for m in kept] == [False, True, True, True]


async def test_a_customers_real_answer_to_the_bot_is_still_answered(
    bot_mail_hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    """The loop guards must not silence people: a human reply to the bot gets its answer."""
    answer = await the_bot_answers_the_customer_once(bot_mail_hub, api, smtp_relay)
    bots_id = str(answer.message["Message-ID"])
    again = mail(
        CUSTOMER, f"and where is my order {ORDER} now?", "Re: My order", replying_to=bots_id
    )
    await deliver(bot_mail_hub, again, CUSTOMER)
    await eventually(lambda: _relayed(smtp_relay, 2), what="the second answer")
    await settled(bot_mail_hub)
    assert len(smtp_relay.received) == 2
