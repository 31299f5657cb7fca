"""A rule's reply never answers an auto-responder: a mail loop would follow."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.actions.assignment import CURSOR
from hub.queries.routing_settings import read_setting
from tests.factories import messages_of
from tests.fakes.smtp_relay import SmtpRelay
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.mail import deliver, mail, mail_settings
from tests.support.routing import rule

CUSTOMER = "ann@customer.test"
THANKS = "Thank you, we got your mail."


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


@pytest.fixture
async def mail_hub(
    backend_urls: dict[str, object], smtp_relay: SmtpRelay
) -> AsyncIterator[RunningHub]:
    settings = mail_settings(
        backend_urls, smtp_relay, routing_check_seconds=0.05, routing_settle_seconds=0.0
    )
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


def thanks(relay: SmtpRelay) -> int:
    return sum(
        THANKS in (m.message.get_body(("plain",)) or m.message).get_content()
        for m in relay.received
    )


async def test_a_rule_reply_skips_auto_replies(mail_hub: RunningHub, smtp_relay: SmtpRelay) -> None:
    await rule(mail_hub, "Thank every mail", {}, {"action": "reply", "text": THANKS})
    await deliver(mail_hub, mail(CUSTOMER, "Where is my parcel?", "Parcel"), CUSTOMER)
    await eventually(lambda: _now(thanks(smtp_relay) == 1), what="the first thanks")
    away = mail(
        CUSTOMER, "I am away until Monday.", "Auto: Re: Parcel", Auto_Submitted="auto-replied"
    )
    await deliver(mail_hub, away, CUSTOMER)
    await deliver(mail_hub, mail(CUSTOMER, "Back now, any news?", "Parcel"), CUSTOMER)
    [back] = await eventually(lambda: messages_of(mail_hub.hub, text="Back now, any news?"))

    async def routed_past_it() -> bool:  # the auto-reply came first: it was routed too
        async with mail_hub.hub.db.session() as session:
            return int(await read_setting(session, CURSOR) or 0) >= (back.id or 0)

    await eventually(routed_past_it, what="the routing cursor past the last mail")
    replies = await messages_of(mail_hub.hub, text=THANKS)
    assert len(replies) == 2  # none for the auto-reply
    await eventually(lambda: _now(thanks(smtp_relay) == 2), what="both sent")


async def _now(value: bool) -> bool:
    return value
