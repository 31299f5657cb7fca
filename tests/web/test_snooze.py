"""Snoozed conversations come back on their own when their time comes, live in the inbox."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.chores.snooze_wakeup import SnoozeAlarm
from hub.domain.events import Event
from hub.models import Conversation
from tests.support import RunningHub, eventually
from tests.support.api import Api, Browser, customer_writes


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"snooze_check_seconds": 0.05}  # the alarm ticks fast; tests poll, never sleep


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="row[^"]*" data-conversation-id="(\d+)"', html)]


async def status_of(running: RunningHub, conversation_id: int) -> Conversation:
    async with running.hub.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation


async def snooze(api: Api, conversation_id: int, until: datetime) -> None:
    body = {"status": "snoozed", "snooze_until": until.isoformat()}
    answer = await api.ok("POST", f"/conversations/{conversation_id}/status", body)
    assert answer["status"] == "snoozed"


async def notices(agent: Browser, into: asyncio.Queue[dict[str, Any]]) -> None:
    """Read the inbox's live stream as the page does, one JSON notice per `data:` line."""
    async with agent.http.get(agent.url + "/inbox/events") as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"data: "):
                await into.put(json.loads(line[len(b"data: ") :]))


async def test_a_snooze_that_ran_out_reopens_without_a_message_and_moves_live(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    message = await customer_writes(hub, 7001, "call me back next week")
    conversation_id = message.conversation_id
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    reader = asyncio.create_task(notices(agent, received))
    try:
        await snooze(api, conversation_id, datetime.now(UTC) - timedelta(minutes=1))

        async def woken_notice() -> bool:
            while not received.empty():
                notice = received.get_nowait()
                if notice["name"] == "conversation.updated" and (
                    notice["conversation_id"] == conversation_id
                ):
                    conversation = await status_of(hub, conversation_id)
                    if conversation.status == "open":
                        return True
            return False

        await eventually(woken_notice, what="the woken conversation's live notice")
    finally:
        reader.cancel()
    conversation = await status_of(hub, conversation_id)
    assert conversation.status == "open" and conversation.snooze_until is None
    _, html, _ = await agent.get("/inbox")  # the page the notice makes the list refetch
    assert conversation_id in row_ids(html)
    _, html, _ = await agent.get("/inbox?status=snoozed")
    assert conversation_id not in row_ids(html)
    listed = await api.get(f"/conversations/{conversation_id}/messages")
    assert [m["text"] for m in listed["items"]] == ["call me back next week"]  # no new one


async def test_a_snooze_in_the_future_stays_and_the_inbox_says_when_it_wakes(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    later = await customer_writes(hub, 7101, "after the holidays")
    due = await customer_writes(hub, 7102, "tomorrow is fine")
    until = datetime(2031, 1, 2, 9, 30, tzinfo=UTC)
    await snooze(api, later.conversation_id, until)
    await snooze(api, due.conversation_id, datetime.now(UTC) - timedelta(seconds=1))
    # The due one waking proves the alarm ticked after both were snoozed.
    await eventually(
        lambda: _is_open(hub, due.conversation_id), what="the due conversation to wake"
    )
    alarm = SnoozeAlarm(hub.hub.db, hub.hub.broker, interval=1.0)
    assert await alarm.run_once() == 0  # nothing else is due
    kept = await status_of(hub, later.conversation_id)
    assert kept.status == "snoozed" and kept.snooze_until == until

    _, html, _ = await agent.get("/inbox?status=snoozed")
    assert row_ids(html) == [later.conversation_id]
    assert re.search(r'data-wakes>Wakes up <time datetime="2031-01-02T09:30:00\+00:00">', html)
    assert "Jan 2, 2031, 09:30 UTC" in html
    _, html, _ = await agent.get(f"/inbox/conversations/{later.conversation_id}")
    assert re.search(r'until <time datetime="2031-01-02T09:30:00\+00:00">', html)


async def _is_open(running: RunningHub, conversation_id: int) -> bool:
    return (await status_of(running, conversation_id)).status == "open"


async def test_two_workers_waking_at_once_open_each_conversation_once(
    hub: RunningHub, api: Api
) -> None:
    ids = []
    for n in range(5):
        ids.append((await customer_writes(hub, 7200 + n, f"later {n}")).conversation_id)
    for conversation_id in ids:
        await snooze(api, conversation_id, datetime(2031, 1, 1, tzinfo=UTC))
    woken: list[int] = []

    async def collect(events: asyncio.Queue[Event]) -> None:
        while True:
            event = await events.get()
            if event.name == "conversation.updated" and event.data.get("woken"):
                woken.append(event.conversation_id or 0)

    first = SnoozeAlarm(hub.hub.db, hub.hub.broker, interval=1.0)
    second = SnoozeAlarm(hub.hub.db, hub.hub.broker, interval=1.0)
    async with hub.hub.broker.subscribe() as events:
        collector = asyncio.create_task(collect(events))
        try:
            # The clock moves past their time in one step; this hub's own alarm races too.
            async with hub.hub.db.session() as session:
                for conversation_id in ids:
                    row = await session.get(Conversation, conversation_id)
                    assert row is not None
                    row.snooze_until = datetime.now(UTC) - timedelta(seconds=5)
                await session.commit()
            await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
            await eventually(lambda: _all_open(hub, ids), what="all five open")
            await eventually(_true_when(lambda: len(woken) >= len(ids)), what="five notices")
            assert await first.run_once() == 0
        finally:
            collector.cancel()
    assert sorted(woken) == sorted(ids)  # each woken once, by whichever alarm got there


def _true_when(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return check()

    return probe


async def _all_open(running: RunningHub, ids: list[int]) -> bool:
    return all([await _is_open(running, i) for i in ids])
