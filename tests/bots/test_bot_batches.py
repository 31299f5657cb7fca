"""The bot runner thinks a batch out bot by bot and stores it in short write turns: a bot's
CPU-heavy reading (`Preparing`) is paid only for the texts that reach it, and a batch's
answers are committed in slices, a conversation's answers always together and in order.
The consumer is driven by hand, on the hub's real queue backend and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from hub.actions import bots as runner
from hub.actions.bots import BotRunner
from hub.domain.bots import BotContext, BotOutcome, BotText
from hub.queue.port import INBOUND
from tests.bots.worker_by_hand import claim_all, consumer
from tests.factories import messages_of, telegram_update
from tests.support import RunningHub


class OrderWords:
    """Answers what mentions an order; passes the rest."""

    name = "orders"

    async def handle(self, ctx: BotContext) -> BotOutcome:
        if "order" not in ctx.text:
            return BotOutcome.PASSED
        await ctx.reply(BotText("faq_answer", {"answer": f"about: {ctx.text}"}), "orders")
        return BotOutcome.ANSWERED


class CostlyReader:
    """A `Preparing` bot that notes which texts it was made to read, and answers all."""

    name = "costly"

    def __init__(self) -> None:
        self.prepared: list[str] = []
        self.handled: list[str] = []

    def prepare(self, text: str) -> None:
        self.prepared.append(text)

    async def handle(self, ctx: BotContext) -> BotOutcome:
        self.handled.append(ctx.text)
        await ctx.reply(BotText("faq_answer", {"answer": f"read: {ctx.text}"}), "costly")
        return BotOutcome.ANSWERED


async def test_a_costly_reader_reads_only_what_the_bots_before_it_passed(
    web_only: RunningHub,
) -> None:
    asked = {9501: "where is my order 12", 9502: "do you ship abroad", 9503: "my order 13?"}
    for user, text in asked.items():
        assert await web_only.post_telegram(telegram_update(user, text, language_code="en")) == 200
    jobs = await claim_all(web_only, 3)
    costly = CostlyReader()
    await consumer(web_only, BotRunner([OrderWords(), costly])).handle(jobs)
    assert costly.prepared == costly.handled == ["do you ship abroad"]
    answers = [m.text for m in await messages_of(web_only.hub, sender_type="bot", private=False)]
    assert sorted(answers) == sorted(
        ["about: where is my order 12", "read: do you ship abroad", "about: my order 13?"]
    )
    assert await web_only.hub.queue.depth(INBOUND) == 0


async def test_a_batch_is_stored_in_slices_each_conversation_whole_and_in_order(
    web_only: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "WRITE_SLICE", 2)
    posts = [(9511, "order a1"), (9512, "order b1"), (9511, "order a2"), (9513, "order c1")]
    posts += [(9514, "order d1"), (9515, "order e1"), (9511, "order a3")]
    for user, text in posts:
        assert await web_only.post_telegram(telegram_update(user, text, language_code="en")) == 200
    jobs = await claim_all(web_only, len(posts))
    hub = web_only.hub
    turns = 0
    writing = hub.db.writing

    @asynccontextmanager
    async def counted() -> AsyncIterator[None]:
        nonlocal turns
        turns += 1
        async with writing():
            yield

    monkeypatch.setattr(hub.db, "writing", counted)
    await consumer(web_only, BotRunner([OrderWords()])).handle(jobs)
    # The router's turn, then the answers: a's three together, then b and c, then d and e.
    assert turns == 1 + 3
    answers = await messages_of(hub, sender_type="bot", private=False)
    assert sorted(m.text for m in answers) == sorted(f"about: {text}" for _, text in posts)
    mine = [m.text for m in answers if m.text.startswith("about: order a")]
    assert mine == ["about: order a1", "about: order a2", "about: order a3"]
    questions = {m.id: m.text for m in await messages_of(hub, direction="inbound")}
    for answer in answers:  # each keyed by the question it answers
        assert answer.dedupe_key is not None
        assert f"about: {questions[int(answer.dedupe_key.split(':')[1])]}" == answer.text
    assert await hub.queue.depth(INBOUND) == 0
