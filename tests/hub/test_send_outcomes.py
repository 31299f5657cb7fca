"""Recording a batch of send outcomes: one statement for the replies still queued, the
read-then-update rules for those a callback or an earlier try already moved, and one write
turn for a batch whose provider answers at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, select, update

from hub.actions.delivery import Outcome, record_outcomes
from hub.actions.unit import take_events
from hub.domain import events
from hub.domain.types import MessageStatus
from hub.models import Conversation, Customer, Identity
from hub.models.tables import MESSAGES
from hub.queue.consumers import OutboundConsumer
from hub.queue.port import OUTBOUND, Job
from hub.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.running import operator_reply

FIRST_CHAT = 61_000


@pytest.fixture
async def web_only(settings: Settings) -> AsyncIterator[RunningHub]:
    """No worker: the replies stay queued until the test sends them."""
    running = await start_hub(settings, with_worker=False)
    yield running
    await stop_hub(running)


async def _replies(running: RunningHub, count: int) -> list[int]:
    """`count` Telegram customers, each with a conversation and one queued operator reply."""
    conversations = []
    async with running.hub.db.session() as session:
        for n in range(count):
            customer = Customer(name=f"Outcome {n}", locale="en")
            session.add(customer)
            await session.flush()
            assert customer.id is not None
            chat = str(FIRST_CHAT + n)
            session.add(Identity(customer_id=customer.id, channel="telegram", address=chat))
            conversation = Conversation(customer_id=customer.id, channel="telegram")
            session.add(conversation)
            conversations.append(conversation)
        await session.commit()
    return [await operator_reply(running, c.id or 0, f"reply {c.id}") for c in conversations]


async def _rows(running: RunningHub, ids: list[int]) -> dict[int, tuple[str, str | None]]:
    async with running.hub.db.session() as session:
        rows = await session.execute(
            select(MESSAGES.c.id, MESSAGES.c.status, MESSAGES.c.external_id).where(
                MESSAGES.c.id.in_(ids)
            )
        )
        return {row.id: (row.status, row.external_id) for row in rows}


async def test_outcomes_move_forward_only_and_keep_the_first_provider_id(
    web_only: RunningHub,
) -> None:
    ids = await _replies(web_only, 6)
    queued_sent, queued_delivered, delivered_early, sent_known, failed, gone = ids
    async with web_only.hub.db.session() as session:
        for message_id, status, external_id in (
            (delivered_early, "delivered", None),  # its callback came before the answer
            (sent_known, "sent", "first-id"),  # an earlier try's answer was recorded
            (failed, "failed", None),
        ):
            await session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id == message_id)
                .values(status=status, external_id=external_id)
            )
        await session.commit()
    outcomes = [
        Outcome(queued_sent, MessageStatus.SENT, "tg-1"),
        Outcome(queued_delivered, MessageStatus.DELIVERED, None),
        Outcome(delivered_early, MessageStatus.SENT, "tg-3"),
        Outcome(sent_known, MessageStatus.SENT, "tg-4"),
        Outcome(failed, MessageStatus.SENT, "tg-5"),
        Outcome(gone + 10_000, MessageStatus.SENT, "tg-none"),  # no such message
    ]
    async with web_only.hub.db.session() as session:
        await record_outcomes(session, outcomes)
        published = take_events(session)
        await session.commit()
    assert sorted((e.name, e.data["message_id"], e.data["status"]) for e in published) == [
        (events.MESSAGE_UPDATED, queued_sent, MessageStatus.SENT),
        (events.MESSAGE_UPDATED, queued_delivered, MessageStatus.DELIVERED),
    ]
    assert await _rows(web_only, ids) == {
        queued_sent: ("sent", "tg-1"),
        queued_delivered: ("delivered", None),
        delivered_early: ("delivered", "tg-3"),
        sent_known: ("sent", "first-id"),
        failed: ("failed", "tg-5"),
        gone: ("queued", None),
    }


async def test_one_outcome_statement_with_one_status_and_no_provider_ids(
    web_only: RunningHub,
) -> None:
    """All outcomes alike (the usual batch): one statement, no read, no lookup by id."""
    ids = await _replies(web_only, 3)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    engine = web_only.hub.db.engine.sync_engine
    async with web_only.hub.db.session() as session:
        await session.execute(select(1))  # the transaction's own statements come first
        event.listen(engine, "before_cursor_execute", count)
        try:
            await record_outcomes(session, [Outcome(i, MessageStatus.DELIVERED) for i in ids])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        await session.commit()
    assert len(statements) == 1 and "JSON" not in statements[0].upper()
    assert await _rows(web_only, ids) == {i: ("delivered", None) for i in ids}


async def test_a_batch_answered_at_once_is_recorded_in_one_write_turn(
    web_only: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    """The first outcome's writer waits for the sends still in flight (up to the linger):
    one UPDATE for the batch, not one for the first finisher and one for the rest."""
    hub = web_only.hub
    ids = await _replies(web_only, 12)
    consumer = OutboundConsumer(
        hub.queue, "outcomes-test", hub.db, hub.broker, hub.channels.senders
    )
    consumer.record_linger = 30.0  # the turn waits for every send in flight, however slow
    await hub.queue.rebalance(OUTBOUND, consumer.name)

    async def claimed() -> list[Job]:
        return await hub.queue.claim(OUTBOUND, consumer.name, 100)

    jobs = await eventually(claimed, what="the replies' jobs")
    assert len(jobs) == len(ids)
    fake_telegram.hold_next("sendMessage", 0.3, accept=True)  # one answer comes late
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("UPDATE MESSAGES"):
            updates.append(sql)

    engine = hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await consumer.handle(jobs)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(updates) == 1
    rows = await _rows(web_only, ids)
    assert sorted(rows) == sorted(ids)
    assert all(status == "sent" and external_id for status, external_id in rows.values())
    assert sorted(int(s.chat_id or 0) for s in fake_telegram.sent) == [
        FIRST_CHAT + n for n in range(len(ids))
    ]
    assert await hub.queue.claim(OUTBOUND, consumer.name, 100) == []
