"""CSAT by email: the question is a mail in the customer's thread, and a reply whose new
text is only a rating (the quoted question below it is stripped) answers it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.factories import messages_of
from tests.fakes.smtp_relay import RelayedMail, SmtpRelay
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import make_api
from tests.support.mail import deliver, mail, mail_settings


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


@pytest.fixture
async def csat_mail_hub(
    backend_urls: dict[str, Any], smtp_relay: SmtpRelay
) -> AsyncIterator[RunningHub]:
    running = await start_hub(mail_settings(backend_urls, smtp_relay, csat=True))
    yield running
    await stop_hub(running)


async def _relayed(relay: SmtpRelay, text: str) -> list[RelayedMail]:
    return [m for m in relay.received if text in m.message.get_content()]


async def test_a_mailed_rating_under_the_quoted_question_is_stored(
    csat_mail_hub: RunningHub, smtp_relay: SmtpRelay
) -> None:
    api = await make_api(csat_mail_hub, "pat@shop.test", "Pat")
    await deliver(csat_mail_hub, mail(text="Where is my parcel?"))
    [first] = await eventually(
        lambda: messages_of(csat_mail_hub.hub, channel="email", direction="inbound")
    )
    path = f"/conversations/{first.conversation_id}/status"
    await api.ok("POST", path, {"status": "resolved"})
    [question] = await eventually(
        lambda: _relayed(smtp_relay, "How satisfied are you"), what="the question mailed"
    )
    assert question.message["Subject"] == "Re: Parcel"
    answer = mail(
        text="5\n\nOn Mon, 7 Dec 2026 at 12:00, Support wrote:\n> How satisfied are you?\n",
        subject="Re: Parcel",
        In_Reply_To=question.message["Message-ID"],
    )
    await deliver(csat_mail_hub, answer)
    await eventually(
        lambda: _relayed(smtp_relay, "Thank you for your rating (5/5)"), what="the thanks"
    )
    stored = await messages_of(csat_mail_hub.hub, channel="email", direction="inbound")
    assert {m.conversation_id for m in stored} == {first.conversation_id}
    assert (await api.get(f"/conversations/{first.conversation_id}"))["status"] == "resolved"
