"""Bots answer outside the router's write turn, yet exactly once and after the question:
the inbound jobs are acked only with the bots' answers, so a worker killed in between gets
them again, and a redelivery never answers twice. The consumer is driven by hand here, on
the hub's real queue backend (database or Redis) and database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bots.handoff import FallbackBot
from bots.order_status import OrderStatusBot
from hub.actions import bot_answers
from hub.actions import bots as bots_module
from hub.actions.bot_answers import CONVERSATIONS
from hub.actions.bots import BotRunner
from hub.db import Database
from hub.domain.bots import BotContext, BotOutcome, BotText
from hub.domain.messages import InboundMessage, Routed
from hub.domain.types import Channel
from hub.models import Conversation, Customer, Message
from hub.models.base import utcnow
from hub.queue.port import INBOUND, OUTBOUND, QueueBackend
from hub.realtime import Broker
from tests.bots.worker_by_hand import claim_all, consumer
from tests.factories import messages_of, telegram_update
from tests.support import RunningHub, operator_reply


class Killed(BaseException):
    """The process dies here: nothing after this line runs, no handler catches it."""


class KilledBeforeAnswering(BotRunner):
    async def answer(
        self,
        db: Database,
        queue: QueueBackend,
        broker: Broker,
        batch: Sequence[InboundMessage],
        finish: Callable[[Any], Awaitable[bool]],
        routed: Sequence[Routed] = (),
    ) -> bool:
        raise Killed


async def test_killed_after_routing_the_redelivery_answers_once_after_the_question(
    web_only: RunningHub,
) -> None:
    assert await web_only.post_telegram(telegram_update(9401, "where is my order 1234")) == 200
    jobs = await claim_all(web_only, 1)
    with pytest.raises(Killed):
        await consumer(web_only, KilledBeforeAnswering([OrderStatusBot()])).handle(jobs)
    [question] = await messages_of(web_only.hub, direction="inbound")
    assert await messages_of(web_only.hub, sender_type="bot") == []
    assert await web_only.hub.queue.depth(INBOUND) == 1  # stored, but not acked

    worker = consumer(web_only, BotRunner([OrderStatusBot(), FallbackBot()]))
    await worker.handle(jobs)  # the provider's job, delivered again
    await worker.handle(jobs)  # and once more, as if the ack itself were lost
    assert await messages_of(web_only.hub, direction="inbound") == [question]
    answers = await messages_of(web_only.hub, sender_type="bot")
    assert [m.private for m in answers] == [False, True]  # one answer, one note
    assert min(m.id or 0 for m in answers) > (question.id or 0)
    assert "1234" in answers[1].text  # the note says which question this answered
    assert await web_only.hub.queue.depth(INBOUND) == 0


class TakenOverWhileThinking:
    """A bot during whose thinking an operator answers the conversation."""

    name = "slow"

    def __init__(self, running: RunningHub) -> None:
        self.running = running
        self.asked = 0

    async def handle(self, ctx: BotContext) -> BotOutcome:
        self.asked += 1
        await operator_reply(self.running, ctx.conversation.id, "Hi, Anna here")
        await ctx.reply(BotText("not_understood"), "slow bot")
        return BotOutcome.UNANSWERED


async def test_an_operator_taking_over_while_the_bot_thinks_wins(web_only: RunningHub) -> None:
    assert await web_only.post_telegram(telegram_update(9402, "hello")) == 200
    jobs = await claim_all(web_only, 1)
    slow = TakenOverWhileThinking(web_only)
    await consumer(web_only, BotRunner([slow])).handle(jobs)
    assert slow.asked == 1  # planned again after the conflict: no longer with the bot
    thread = await messages_of(web_only.hub, direction="outbound")
    assert [(m.sender_type, m.text) for m in thread] == [("operator", "Hi, Anna here")]
    assert await web_only.hub.queue.depth(INBOUND) == 0


async def test_a_batch_of_one_customer_is_answered_in_order_with_the_two_turn_handoff(
    web_only: RunningHub,
) -> None:
    for text in ("what colour is the sky", "and the grass?", "and the sea?"):
        update = telegram_update(9403, text, language_code="en")
        assert await web_only.post_telegram(update) == 200
    jobs = await claim_all(web_only, 3)
    await consumer(web_only, BotRunner([OrderStatusBot(), FallbackBot()])).handle(jobs)
    thread: list[Message] = await messages_of(web_only.hub)
    said = [(m.sender_type, m.private, m.dedupe_key) for m in thread]
    first = thread[0].id
    assert said == [
        ("customer", False, thread[0].dedupe_key),
        ("customer", False, thread[1].dedupe_key),
        ("customer", False, thread[2].dedupe_key),
        ("bot", False, f"bot:{first}"),  # not understood
        ("bot", True, f"bot:{first}:1"),
        ("bot", False, f"bot:{(first or 0) + 1}"),  # second turn: handed to a person
        ("bot", True, f"bot:{(first or 0) + 1}:1"),
    ]  # the third message waits for a person
    assert "person" in thread[5].text


class StateChangedWhileThinking:
    """A bot during whose thinking something else changes the conversation's bot state
    (another writer), every time it is asked, except while the bots hold the write turn."""

    name = "contended"

    def __init__(self, running: RunningHub, locked: list[bool]) -> None:
        self.running = running
        self.locked = locked
        self.asked = 0

    async def handle(self, ctx: BotContext) -> BotOutcome:
        self.asked += 1
        if not self.locked:
            async with self.running.hub.db.session() as session:
                await session.execute(
                    update(CONVERSATIONS)
                    .where(CONVERSATIONS.c.id == ctx.conversation.id)
                    .values(bot_unanswered=1 - CONVERSATIONS.c.bot_unanswered)
                )
                await session.commit()
        await ctx.reply(BotText("not_understood"), "contended bot")
        return BotOutcome.ANSWERED


async def test_a_conversation_changing_in_every_optimistic_round_is_still_answered(
    web_only: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last round plans inside the write turn, on locked conversations: an answer is
    never given up (and its question acked unanswered) because others kept writing."""
    locked: list[bool] = []

    async def lock_and_read(session: Any, ids: set[int]) -> Any:
        locked.append(True)
        return await bot_answers.lock_and_read(session, ids)

    monkeypatch.setattr(bots_module, "lock_and_read", lock_and_read)
    assert await web_only.post_telegram(telegram_update(9404, "hello?")) == 200
    jobs = await claim_all(web_only, 1)
    contended = StateChangedWhileThinking(web_only, locked)
    await consumer(web_only, BotRunner([contended])).handle(jobs)
    assert contended.asked == bots_module.ROUNDS
    said = [(m.private, m.text) for m in await messages_of(web_only.hub, sender_type="bot")]
    assert said == [(False, said[0][1]), (True, "🤖 contended bot")]
    assert await web_only.hub.queue.depth(INBOUND) == 0


async def test_still_changing_under_the_lock_sends_the_jobs_back_unanswered(
    web_only: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a conversation change even in the locked round, its question is not acked:
    the job goes back to the queue, and its redelivery is answered once."""
    real_store = bot_answers.store_answers

    async def always_conflicting(session: Any, turns: Any) -> Any:
        stored = await real_store(session, [])
        stored.conflicts |= {t.question.conversation_id for t in turns}
        return stored

    monkeypatch.setattr(bots_module, "store_answers", always_conflicting)
    assert await web_only.post_telegram(telegram_update(9405, "where is my order 1234")) == 200
    jobs = await claim_all(web_only, 1)
    bots = BotRunner([OrderStatusBot(), FallbackBot()])
    await consumer(web_only, bots).handle(jobs)  # the consumer sends the job back
    assert await messages_of(web_only.hub, sender_type="bot") == []
    assert await web_only.hub.queue.depth(INBOUND) == 1

    monkeypatch.setattr(bots_module, "store_answers", real_store)
    again = await claim_all(web_only, 1)  # after the retry's backoff
    assert again[0].attempts == 1
    await consumer(web_only, bots).handle(again)
    answers = await messages_of(web_only.hub, sender_type="bot")
    assert [m.private for m in answers] == [False, True]
    assert await web_only.hub.queue.depth(INBOUND) == 0


async def _done(session: Any) -> bool:
    return True


async def test_a_whatsapp_question_redelivered_after_24_hours_gets_only_a_note(
    web_only: RunningHub,
) -> None:
    hub = web_only.hub
    async with hub.db.session() as session:
        customer = Customer(name="Wa", locale="en")
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        conversation = Conversation(customer_id=customer.id, channel="whatsapp")
        session.add(conversation)
        await session.flush()
        assert conversation.id is not None
        session.add(
            Message(
                conversation_id=conversation.id,
                customer_id=customer.id,
                direction="inbound",
                sender_type="customer",
                channel="whatsapp",
                text="where is my order 1234",
                status="received",
                address="+15550009999",
                dedupe_key="SMold",
                created_at=utcnow() - timedelta(hours=30),
            )
        )
        await session.commit()
    old = InboundMessage(Channel.WHATSAPP, "+15550009999", "SMold", "where is my order 1234")
    acked = await BotRunner([OrderStatusBot()]).answer(hub.db, hub.queue, hub.broker, [old], _done)
    assert acked and await hub.queue.depth(OUTBOUND) == 0
    said = [(m.private, m.text) for m in await messages_of(hub, sender_type="bot")]
    assert [private for private, _ in said] == [True, True]
    assert "24-hour window" in said[-1][1]
