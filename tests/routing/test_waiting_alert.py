"""The waiting alert: the assignee gets an email through the SMTP relay when a customer has
waited too long for a person, once per wait; a reply ends the wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from hub.actions.assignment import CURSOR, RoutingTimes, assign_waiting
from hub.models.base import utcnow
from hub.queries.routing_settings import read_setting
from tests.fakes.smtp_relay import RelayedMail, SmtpRelay
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes
from tests.support.routing import conversation


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


@pytest.fixture
def settings_overrides(smtp_relay: SmtpRelay) -> dict[str, Any]:
    return {
        "routing_check_seconds": 0.05,
        "routing_settle_seconds": 0.0,
        "email_address": "support@shop.test",
        "smtp_url": smtp_relay.url,
        "waiting_alert_minutes": 0.002,  # 120 ms
        "waiting_check_seconds": 0.05,
    }


def alerts(relay: SmtpRelay) -> list[RelayedMail]:
    return [m for m in relay.received if "Customer waiting" in str(m.message["Subject"])]


async def test_the_assignee_is_emailed_once_per_wait(
    hub: RunningHub, api: Api, smtp_relay: SmtpRelay
) -> None:
    first = await customer_writes(hub, 9700, "hello, is anyone there?", first_name="Vera")
    path = f"/conversations/{first.conversation_id}"
    await api.ok("POST", f"{path}/assign", {"operator_id": api.operator_id})
    await eventually(lambda: _async(alerts(smtp_relay)), what="the first alert")
    mail = alerts(smtp_relay)[0]
    assert mail.rcpt_tos == [api.email]
    assert "Vera" in str(mail.message["Subject"])
    body = mail.message.get_body(("plain",))
    assert (
        body is not None and f"/inbox/conversations/{first.conversation_id}" in body.get_content()
    )
    # Still the same wait: another message does not alert again.
    await customer_writes(hub, 9700, "hello???")
    await api.ok("POST", f"{path}/messages", {"text": "Sorry, here now."}, status=201)
    assert (await conversation(hub, first.conversation_id)).waiting_since is None
    # A new wait after the reply: a second alert, and only one for the first wait.
    await customer_writes(hub, 9700, "thanks, one more thing")
    await eventually(lambda: _async(len(alerts(smtp_relay)) >= 2), what="the second alert")
    assert len(alerts(smtp_relay)) == 2
    thread = await api.get(f"{path}/messages")
    notes = [m["text"] for m in thread["items"] if m["sender_type"] == "system"]
    assert sum("Waiting alert emailed to Anna" in n for n in notes) == 2


async def _async(value: Any) -> Any:
    return value


async def test_a_reply_the_cursor_passes_later_starts_no_wait(hub: RunningHub, api: Api) -> None:
    """An operator's reply to an unassigned conversation is not a customer waiting: once the
    routing cursor passes the reply, the waiting pass must not start a wait (an alert, an
    auto-assignment to someone else) on it."""
    first = await customer_writes(hub, 9701, "hello, anyone?")
    reply = await api.ok(
        "POST", f"/conversations/{first.conversation_id}/messages", {"text": "Here!"}, status=201
    )

    async def passed() -> bool:
        async with hub.hub.db.session() as session:
            return int(await read_setting(session, CURSOR) or 0) >= reply["id"]

    await eventually(passed, what="the routing cursor past the reply")
    times = RoutingTimes(utcnow(), timedelta(0), timedelta(minutes=5))
    async with hub.hub.db.writing(), hub.hub.db.session() as session:
        await assign_waiting(session, times, bots=hub.settings.bots, default_cap=10)
        await session.commit()
    stored = await conversation(hub, first.conversation_id)
    assert stored.waiting_since is None and stored.assignee_id is None
