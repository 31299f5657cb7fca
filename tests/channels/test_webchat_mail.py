"""Web chat replies reach an offline visitor by email (SPEC §4), once, and only at a proven
email of their customer (SPEC §6): a visitor still in the chat gets no mail, nor does one
who only typed an email; `HUB_WEBCHAT_EMAIL_AFTER_MINUTES=0` turns it off. End to end on
the real socket, the worker's chore, the outbound queue and a fake SMTP relay."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.actions.webchat_mail import CURSOR
from hub.chores.webchat_mail import WebchatMail
from hub.models import WebchatPresence
from hub.queries.routing_settings import read_setting
from hub.runtime.worker import background_jobs
from tests.factories import messages_of
from tests.fakes.smtp_relay import RelayedMail, SmtpRelay
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_card, make_api
from tests.support.webchat_visitor import Visitor


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


@pytest.fixture
def settings_overrides(smtp_relay: SmtpRelay) -> dict[str, Any]:
    return {
        "email_address": "support@shop.test",
        "smtp_url": smtp_relay.url,
        "webchat_email_after_minutes": 0.01,  # 600 ms: a live push is stamped well before
        "webchat_email_check_seconds": 0.05,
        "csat": True,  # a resolve asks for stars: that question is never mailed
    }


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


def mails_to(relay: SmtpRelay, address: str) -> list[RelayedMail]:
    return [m for m in relay.received if m.rcpt_tos == [address]]


def body_of(mail: RelayedMail) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def _async(value: Any) -> Any:
    return value


async def visitor_writes(hub: RunningHub, text: str, **identify: Any) -> tuple[Visitor, int]:
    """A visitor who says who they are (a claim, or proven) and writes: their conversation."""
    visitor = await Visitor(hub).open()
    if identify:
        await visitor.identify(**identify)
    await visitor.say(text)
    [said] = await messages_of(hub.hub, channel="webchat", address=visitor.visitor_id)
    return visitor, said.conversation_id


async def reply(api: Api, conversation_id: int, text: str) -> int:
    path = f"/conversations/{conversation_id}/messages"
    return int((await api.ok("POST", path, {"text": text}, status=201))["id"])


async def looked_at(hub: RunningHub, message_id: int) -> None:
    """Wait until the worker's chore has passed `message_id` (emailed or not)."""

    async def passed() -> bool:
        async with hub.hub.db.session() as session:
            return int(await read_setting(session, CURSOR) or 0) >= message_id

    await eventually(passed, what=f"the web chat mail chore past message {message_id}")


async def test_an_offline_proven_visitor_gets_the_reply_by_email_once(
    hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    visitor, conversation_id = await visitor_writes(
        hub, "is my order on its way?", proven=True, email="olga@shop.test", name="Olga"
    )
    await visitor.close()
    answer = await reply(api, conversation_id, "Yes, it left the warehouse today.")
    second = await reply(api, conversation_id, "Tracking follows tomorrow.")
    # One email per chore run in the thread: both replies, each once (in one email unless a
    # run fell between them).
    replies = ("Anna: Yes, it left the warehouse today.", "Anna: Tracking follows tomorrow.")

    def mailed() -> list[str]:
        return [body_of(m) for m in mails_to(smtp_relay, "olga@shop.test")]

    await eventually(lambda: _async(all(r in "".join(mailed()) for r in replies)), what="the email")
    assert [sum(body.count(r) for body in mailed()) for r in replies] == [1, 1]
    # Outbound email messages in the same thread, sent, and private notes saying why.
    thread = (await api.get(f"/conversations/{conversation_id}/messages"))["items"]
    emailed = [m for m in thread if m["channel"] == "email" and m["direction"] == "outbound"]
    assert len(emailed) == len(mailed())
    assert all(m["sender_type"] == "system" and m["private"] is False for m in emailed)

    async def sent() -> bool:
        stored = await messages_of(hub.hub, channel="email", conversation_id=conversation_id)
        return all(m.status in ("sent", "delivered") for m in stored)

    await eventually(sent, what="the email's status sent")
    notes = [m["text"] for m in thread if m["private"] and m["sender_type"] == "system"]
    counted = [
        re.match(r"(\d+) unseen web chat replies emailed to olga@shop.test", n) for n in notes
    ]
    assert sum(int(c.group(1)) for c in counted if c) == 2, notes
    # The chore again, by this worker and another: never a second email.
    await looked_at(hub, second)
    again = WebchatMail(hub.hub.db, hub.hub.queue, hub.hub.broker, after_minutes=0, interval=1)
    assert await again.run_once() == 0
    assert await again.run_once() == 0
    later = await reply(api, conversation_id, "Anything else?")
    await looked_at(hub, later)  # a new unseen reply is mailed on its own, the old ones not
    before = len(emailed)
    await eventually(lambda: _async(len(mailed()) == before + 1), what="one more email")
    newest = mailed()[-1]
    assert "Anything else?" in newest and "warehouse" not in newest
    assert answer < second < later


async def test_a_visitor_still_in_the_chat_gets_no_email(
    hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    visitor, conversation_id = await visitor_writes(
        hub, "hello?", proven=True, email="pavel@shop.test", name="Pavel"
    )
    answered = await reply(api, conversation_id, "Hi Pavel, how can I help?")
    await eventually(
        lambda: _async("Hi Pavel, how can I help?" in visitor.heard()), what="the live reply"
    )
    await looked_at(hub, answered)
    assert mails_to(smtp_relay, "pavel@shop.test") == []
    await visitor.close()
    # Seen live before they left: leaving later mails nothing either.
    later = await reply(api, conversation_id, "Bye!")
    await looked_at(hub, later)
    await eventually(
        lambda: _async(len(mails_to(smtp_relay, "pavel@shop.test")) == 1), what="the unseen one"
    )
    assert "Hi Pavel" not in body_of(mails_to(smtp_relay, "pavel@shop.test")[0])


async def test_a_visitor_with_only_a_claimed_email_gets_nothing_by_mail(
    hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    visitor, conversation_id = await visitor_writes(
        hub, "where is my order?", email="claimed@shop.test", name="Ivan"
    )
    await visitor.close()
    answered = await reply(api, conversation_id, "Which order number?")
    await looked_at(hub, answered)
    assert smtp_relay.received == []
    stored = await messages_of(hub.hub, conversation_id=conversation_id, channel="email")
    assert stored == []


async def test_a_claim_an_operator_confirmed_is_mailed(
    hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    visitor, conversation_id = await visitor_writes(
        hub, "any news?", email="vera@shop.test", name="Vera"
    )
    await visitor.close()
    [said] = await messages_of(hub.hub, channel="webchat", address=visitor.visitor_id)
    card = await customer_card(api, said.customer_id)
    [claim] = [i for i in card["identities"] if i["address"] == "vera@shop.test"]
    assert claim["verified"] is False
    path = f"/customers/{said.customer_id}/identities/{claim['id']}/confirm"
    await api.ok("POST", path, {})
    await reply(api, conversation_id, "Your parcel arrives on Friday.")
    await eventually(
        lambda: _async(mails_to(smtp_relay, "vera@shop.test")),
        what="the confirmed claim mailed",
    )
    assert "Your parcel arrives on Friday." in body_of(mails_to(smtp_relay, "vera@shop.test")[0])


async def test_the_satisfaction_question_is_not_mailed(
    hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    """Only operator and bot replies are mailed: the hub's own question (star buttons in the
    widget) would mean nothing in a mail."""
    visitor, conversation_id = await visitor_writes(
        hub, "thanks, that is all", proven=True, email="lev@shop.test", name="Lev"
    )
    await visitor.close()
    await reply(api, conversation_id, "Glad to help, bye!")
    path = f"/conversations/{conversation_id}/status"
    await api.ok("POST", path, {"status": "resolved"})

    async def question() -> int:
        said = await messages_of(hub.hub, conversation_id=conversation_id, channel="webchat")
        return max((m.id or 0 for m in said if "How satisfied" in m.text), default=0)

    await looked_at(hub, await eventually(question, what="the satisfaction question"))
    await eventually(lambda: _async(mails_to(smtp_relay, "lev@shop.test")), what="the email")
    bodies = [body_of(m) for m in mails_to(smtp_relay, "lev@shop.test")]
    assert any("Glad to help, bye!" in b for b in bodies)
    assert not any("How satisfied" in b for b in bodies), bodies


async def test_presence_is_kept_only_for_visitors_who_wrote(hub: RunningHub) -> None:
    """An anonymous page view (the widget opened, nothing said) writes nothing."""
    browsing = await Visitor(hub).open()
    await browsing.close()
    talking, _ = await visitor_writes(hub, "hi")
    await talking.close()

    async def stamped(visitor_id: str) -> bool:
        async with hub.hub.db.session() as session:
            return await session.get(WebchatPresence, visitor_id) is not None

    await eventually(lambda: stamped(talking.visitor_id), what="the writer's stamp")
    assert not await stamped(browsing.visitor_id)


async def test_zero_minutes_turns_it_off(hub: RunningHub) -> None:
    def chores(**settings: Any) -> list[str]:
        changed = hub.hub.settings.model_copy(update=settings)
        return [
            name
            for name, _ in background_jobs(dataclasses.replace(hub.hub, settings=changed), "run")
        ]

    assert "webchat-mail" in chores()
    assert "webchat-mail" not in chores(webchat_email_after_minutes=0)
