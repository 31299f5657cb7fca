"""The bot runner: customer messages are offered to the bots after the router stored them,
outside the router's write turn.

Why outside: on SQLite the router's write turn holds the one write lock that every webhook's
durable enqueue waits for, so bot work there delayed webhook answers. Here the bots read
(the customer's orders, ...) and think with no lock held; their answers are stored in a
short write turn of their own (`hub.actions.bot_answers`).

Exactly once, in order: the consumer acks the inbound jobs only in (or after) that second
turn, and each stored answer carries the dedupe key of the message it answers
(`bot_answers.answer_key`). A worker killed between the two turns gets the jobs again: the
router stores nothing twice, and the bots answer only the messages that have no answer yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.bot_answers import (
    CONVERSATIONS,
    MESSAGES,
    BotState,
    PlannedText,
    PlannedTurn,
    answer_key,
    answered_keys,
    lock_and_read,
    store_answers,
)
from hub.actions.bot_context import Turn, load_orders_of
from hub.actions.channel_state import whatsapp_window_open
from hub.actions.system_notes import english
from hub.actions.texts import pick_locale, render
from hub.actions.unit import commit_and_publish
from hub.db import Database
from hub.domain.bots import (
    UNANSWERED_TURNS_BEFORE_HANDOFF,
    Bot,
    BotConversation,
    BotCustomer,
    BotOutcome,
    BotText,
    Preparing,
)
from hub.domain.messages import InboundMessage, Routed
from hub.domain.notes import Note
from hub.domain.types import Channel, ConversationStatus, Direction
from hub.models import Identity
from hub.models.tables import CUSTOMERS
from hub.queue.port import QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)

# Planning again when a conversation changed under the bots (an operator took it over, a
# merge folded it): ROUNDS - 1 optimistic rounds, then one planned inside the write turn.
ROUNDS = 3
NOTE_CHARS = 2000
# Bots read only this much of a message: a question is asked in the first sentences, and
# the cost of reading stays bounded (the intent model reads features of every word; the
# FAQ's fuzzy matching is the costlier part, done first in a worker thread, see
# `Preparing`). The message itself is stored whole.
BOT_TEXT_CHARS = 2000
# Texts a `Preparing` bot reads in one worker-thread hop before `handle` asks for them: less
# than the bots' caches of read texts hold (the FAQ remembers its latest 256), so what was
# prepared is still there when `handle` comes.
PREPARE_CHUNK = 200
# Answers stored in one write turn: on SQLite the turn holds the process's write lock, which
# webhooks wait for; ~100 answers (200 rows with their notes) keep a turn to tens of ms.
WRITE_SLICE = 100

Finish = Callable[[AsyncSession], Awaitable[bool]]


class StillChanging(RuntimeError):
    """Conversations changed even under the locked round: their jobs go back to the queue
    unacked (the consumer retries them), so a question is never acked unanswered."""

    def __init__(self, conversation_ids: list[int]) -> None:
        super().__init__(f"conversations {conversation_ids} changed while the bots answered")


def wants_an_answer(message: InboundMessage) -> bool:
    """Auto-replies and SMS STOP/START keywords are for the hub, not a conversation."""
    return bool(message.text.strip()) and not message.automated and message.sms_opt_out is None


async def unanswered_questions(
    session: AsyncSession, batch: Sequence[InboundMessage], fresh: Sequence[Routed] = ()
) -> list[Routed]:
    """The stored messages of `batch` that the bots have not answered yet, in batch order.

    `fresh`: what the router stored just now (its `Routed` rows, the same messages): those
    have no answer yet, so only the rest of the batch (a redelivered message the router
    found stored already) is read back."""
    just_stored = {(r.inbound.channel.value, r.inbound.dedupe_key): r for r in fresh}
    rest = [m for m in batch if (m.channel.value, m.dedupe_key) not in just_stored]
    if not rest:
        return [Routed(m, *_where(just_stored[(m.channel.value, m.dedupe_key)])) for m in batch]
    keys = {(m.channel.value, m.dedupe_key) for m in rest}
    rows = await session.execute(
        select(
            MESSAGES.c.id,
            MESSAGES.c.channel,
            MESSAGES.c.dedupe_key,
            MESSAGES.c.conversation_id,
            MESSAGES.c.customer_id,
        ).where(
            tuple_(MESSAGES.c.channel, MESSAGES.c.dedupe_key).in_(keys),
            MESSAGES.c.direction == Direction.INBOUND.value,
        )
    )
    stored = {(ch, key): (int(mid), int(vid), int(cid)) for mid, ch, key, vid, cid in rows}
    stored.update({key: _where(r) for key, r in just_stored.items()})
    questions = [
        Routed(m, *stored[(m.channel.value, m.dedupe_key)])
        for m in batch
        if (m.channel.value, m.dedupe_key) in stored
    ]
    answered = await answered_keys(
        session,
        [
            q
            for q in questions
            if (q.inbound.channel.value, q.inbound.dedupe_key) not in just_stored
        ],
    )
    return [q for q in questions if answer_key(q.message_id) not in answered]


def _where(routed: Routed) -> tuple[int, int, int]:
    return routed.message_id, routed.conversation_id, routed.customer_id


class BotRunner:
    """Offers each stored customer message in a conversation that is with the bot to the
    bots in order, and stores what they said (see the module docstring)."""

    def __init__(self, bots: Sequence[Bot] = ()) -> None:
        self.bots = list(bots)

    @property
    def answers(self) -> bool:
        """False for a runner without bots (HUB_BOTS off): it never has a write turn, so
        the router's own write turn acks the jobs (one turn per batch instead of two)."""
        return bool(self.bots)

    async def answer(
        self,
        db: Database,
        queue: QueueBackend,
        broker: Broker,
        batch: Sequence[InboundMessage],
        finish: Finish,
        routed: Sequence[Routed] = (),
    ) -> bool:
        """Answer `batch` (already routed and committed); `finish` acks the inbound jobs
        inside the last write turn and tells whether it could (the result). Each write turn
        commits, queues its replies and publishes its events. Without bots: nothing."""
        acked = False
        if not self.answers:
            return acked
        pending = [m for m in batch if wants_an_answer(m)]
        for round_ in range(ROUNDS - 1):
            async with db.session() as session:
                # The router's own rows the first time: nothing read back per message. A shared
                # contact card is read back: proving its phone may have folded the customer
                # (and moved the message) after the router made its row.
                fresh = (
                    [r for r in routed if not _shared_own_contact(r.inbound)] if round_ == 0 else ()
                )
                questions = await unanswered_questions(session, pending, fresh)
                turns = await self._plan(session, questions)
            conflicts: set[int] = set()
            slices = _slices(turns)
            for i, part in enumerate(slices):
                # One short write turn a slice, each its own commit: between two, a webhook's
                # enqueue waiting for SQLite's write lock gets its turn (`Database.writing`
                # is first come, first served), so it never waits behind a whole batch.
                async with db.writing(), db.session() as session:
                    stored = await store_answers(session, part)
                    conflicts |= stored.conflicts
                    if i == len(slices) - 1 and not conflicts:
                        acked = await finish(session)
                    await commit_and_publish(session, queue, broker)
            if not conflicts:
                return acked
            pending = _conflicting(questions, conflicts)
        return await self._answer_locked(db, queue, broker, pending, finish)

    async def _answer_locked(
        self,
        db: Database,
        queue: QueueBackend,
        broker: Broker,
        pending: list[InboundMessage],
        finish: Finish,
    ) -> bool:
        """The last round, for conversations that kept changing under the optimistic ones:
        planned inside the write turn, on conversations locked first, so nothing can change
        between planning and storing. Should one still have moved (a merge folded it after
        its message was read), the jobs are not acked: `StillChanging` sends them back to
        the queue, and the redelivery answers what has no answer yet."""
        async with db.writing(), db.session() as session:
            questions = await unanswered_questions(session, pending)
            await lock_and_read(session, {q.conversation_id for q in questions})
            questions = await unanswered_questions(session, pending)  # as they are now
            stored = await store_answers(session, await self._plan(session, questions))
            if stored.conflicts:
                raise StillChanging(sorted(stored.conflicts))
            acked = await finish(session)
            await commit_and_publish(session, queue, broker)
        return acked

    async def _plan(self, session: AsyncSession, questions: list[Routed]) -> list[PlannedTurn]:
        """What the bots say to each question, read and thought out with no lock held.

        The batch is thought out bot by bot, not message by message (`_ask_all`): a bot's
        CPU-heavy reading (`Preparing`) is done in one worker-thread hop for the texts that
        reach it, so the FAQ's fuzzy matching is never paid for a question the order bot
        answered. A conversation's own questions keep their order: its k-th question of the
        batch is thought out in round k, with the bot state its earlier ones left."""
        if not questions:
            return []
        states = await _bot_states(session, {q.conversation_id for q in questions})
        customers = await _customers(session, {q.customer_id for q in questions})
        proven = await _proven_visitors(session, questions)
        with_bot = [q for q in questions if (s := states.get(q.conversation_id)) and s.now.active]
        # The batch's orders in two statements: nothing read per message.
        orders = await load_orders_of(session, {q.customer_id for q in with_bot})
        texts = await _texts(session, with_bot)
        position = {q.message_id: i for i, q in enumerate(questions)}
        planned: list[tuple[int, PlannedTurn]] = []
        for round_ in _rounds([q for q in with_bot if q.message_id in texts]):
            asked: list[tuple[Routed, Turn, BotState]] = []
            for question in round_:
                state = states[question.conversation_id]
                customer = customers.get(question.customer_id)
                if customer is None or not state.now.active:
                    continue  # handed off by an earlier message of the batch
                sees_orders = (
                    question.inbound.channel is not Channel.WEBCHAT
                    or question.inbound.address in proven
                )
                text = texts[question.message_id]
                turn = Turn(
                    session,
                    text,
                    BotCustomer(
                        question.customer_id, customer.name, pick_locale(customer.locale, text)
                    ),
                    BotConversation(question.conversation_id, state.now.unanswered),
                    sees_orders,
                    known_orders=orders.get(question.customer_id, []),
                )
                asked.append((question, turn, state.now))
            outcomes = await self._ask_all([turn for _, turn, _ in asked])
            for (question, turn, before), outcome in zip(asked, outcomes, strict=True):
                await asyncio.sleep(0)  # a big batch never holds the event loop for long
                planned_turn = await _written(session, question, turn, outcome, before)
                tracked = states[question.conversation_id]
                if planned_turn is not None and (
                    planned_turn.texts or planned_turn.after != tracked.now
                ):
                    planned_turn.before = tracked.seen
                    tracked.now = planned_turn.after
                    planned.append((position[question.message_id], planned_turn))
        return [turn for _, turn in sorted(planned, key=lambda item: item[0])]

    async def _ask_all(self, turns: list[Turn]) -> list[BotOutcome]:
        """Each turn offered to the bots in order until one acts, bot by bot over the
        turns: a `Preparing` bot reads the texts that reach it in a worker thread first, in
        chunks its caches hold (`PREPARE_CHUNK`)."""
        outcomes = [BotOutcome.PASSED] * len(turns)
        pending = list(range(len(turns)))
        for bot in self.bots:
            if not pending:
                break
            passed: list[int] = []
            for start in range(0, len(pending), PREPARE_CHUNK):
                chunk = pending[start : start + PREPARE_CHUNK]
                if isinstance(bot, Preparing):
                    await asyncio.to_thread(_prepare, bot, [turns[i].text for i in chunk])
                for i in chunk:
                    await asyncio.sleep(0)  # each turn's matching is one slice of the loop
                    outcome = await _handle(bot, turns[i])
                    if outcome is BotOutcome.PASSED:
                        passed.append(i)
                    else:
                        outcomes[i] = outcome
            pending = passed
        return outcomes


async def _handle(bot: Bot, turn: Turn) -> BotOutcome:
    """One bot's answer to one turn; a bot that fails passes (the next bot is asked)."""
    try:
        return await bot.handle(turn)
    except SQLAlchemyError:
        raise  # the database is away or the batch is bad: the consumer retries it
    except Exception:
        log.exception("bot %s failed on conversation %s", bot.name, turn.conversation.id)
        return BotOutcome.PASSED


def _prepare(bot: Preparing, texts: list[str]) -> None:
    """In a worker thread: a bot's CPU-heavy reading of these texts; a failure here only
    means `handle` does the work itself."""
    for text in texts:
        try:
            bot.prepare(text)
        except Exception:
            log.exception("bot %s could not prepare", getattr(bot, "name", bot))
            return


def _rounds(questions: list[Routed]) -> list[list[Routed]]:
    """Round k holds each conversation's k-th question of the batch, in batch order."""
    rounds: list[list[Routed]] = []
    seen: dict[int, int] = {}
    for question in questions:
        k = seen.get(question.conversation_id, 0)
        seen[question.conversation_id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(question)
    return rounds


async def _texts(session: AsyncSession, questions: list[Routed]) -> dict[int, str]:
    """What the bots read of each question, by message id. A shared contact card is the
    answer to "share your phone": the bots read the question it was asked for, now that
    the phone's orders are linked (SPEC §6); a card with no question before it is left out."""
    texts: dict[int, str] = {}
    for question in questions:
        if _shared_own_contact(question.inbound):
            pending = await _question_before(session, question)
            if pending is not None:
                texts[question.message_id] = pending[:BOT_TEXT_CHARS]
        else:
            texts[question.message_id] = _bot_text(question)
    return texts


async def _written(
    session: AsyncSession, question: Routed, turn: Turn, outcome: BotOutcome, state: BotState
) -> PlannedTurn | None:
    """The turn's acts as the customer's texts and the operators' notes, and the state
    after it; None when a template could not be rendered (nothing is said or changed)."""
    after = _state_after(turn, outcome, state)
    locale = turn.customer.locale
    try:
        texts = [
            piece
            for template, note in turn.acts
            for piece in (
                PlannedText(
                    render(
                        locale,
                        template.template,
                        # The hub, not the bot, knows where the answer goes.
                        {"channel": question.inbound.channel.value, **template.variables},
                    )
                ),
                _note(note),
            )
            if piece.text.strip()
        ]
    except Exception:
        log.exception("bot answer to message %s could not be written", question.message_id)
        return None
    if (
        question.inbound.channel is Channel.WHATSAPP
        and texts
        and not await whatsapp_window_open(session, question.customer_id)
    ):
        # Only an old redelivered message meets this: say nothing the provider refuses.
        texts = [t for t in texts if t.private]
        texts.append(_note(Note("bot.whatsapp_closed")))
    return PlannedTurn(question, texts, after, labels=turn.labels)


def _note(note: str | Note) -> PlannedText:
    """The private note beside a bot's message: "🤖 " and what the bot said it matched, in
    each operator's language when the bot gave a `Note` (hub.actions.system_notes)."""
    if isinstance(note, str):
        return PlannedText(f"🤖 {note}"[:NOTE_CHARS], private=True)
    wrapped = Note("bot.note", {"note": note})
    return PlannedText(english(wrapped)[:NOTE_CHARS], private=True, note=wrapped)


def _bot_text(question: Routed) -> str:
    return question.inbound.text[:BOT_TEXT_CHARS]


def _state_after(turn: Turn, outcome: BotOutcome, state: BotState) -> BotState:
    """The conversation's bot state once this turn is stored. The one place of the handoff
    rule: an unanswered turn that makes UNANSWERED_TURNS_BEFORE_HANDOFF in a row hands the
    conversation to a person (`BotConversation.hands_off_if_unanswered`)."""
    if turn.handed_off:
        return BotState(active=False, unanswered=0)
    if outcome is BotOutcome.ANSWERED:
        return BotState(active=True, unanswered=0)
    if outcome is BotOutcome.UNANSWERED:
        if turn.conversation.hands_off_if_unanswered:
            turns = UNANSWERED_TURNS_BEFORE_HANDOFF
            note = Note("bot.unanswered_handoff", {"turns": turns})
            turn.acts.append((BotText("handoff"), note))
            return BotState(active=False, unanswered=0)
        return BotState(active=True, unanswered=state.unanswered + 1)
    return state


@dataclass(slots=True)
class _Tracked:
    seen: BotState  # as read: the write turn stores only if it is still so
    now: BotState  # after the turns planned so far in this batch


async def _bot_states(session: AsyncSession, ids: set[int]) -> dict[int, _Tracked]:
    rows = await session.execute(
        select(
            CONVERSATIONS.c.id,
            CONVERSATIONS.c.bot_active,
            CONVERSATIONS.c.bot_unanswered,
            CONVERSATIONS.c.status,
        ).where(CONVERSATIONS.c.id.in_(ids))
    )
    found = {}
    for vid, active, unanswered, status in rows:
        # A message in a resolved conversation is a satisfaction answer (hub.routing):
        # the hub thanks for it, the bots stay out.
        active = active and status != ConversationStatus.RESOLVED.value
        state = BotState(bool(active), int(unanswered))
        found[int(vid)] = _Tracked(state, state)
    return found


@dataclass(frozen=True, slots=True)
class _Customer:
    name: str | None
    locale: str | None


async def _customers(session: AsyncSession, ids: set[int]) -> dict[int, _Customer]:
    """Name and locale of each asker: a Core read, no model built per customer."""
    rows = await session.execute(
        select(CUSTOMERS.c.id, CUSTOMERS.c.name, CUSTOMERS.c.locale).where(CUSTOMERS.c.id.in_(ids))
    )
    return {int(cid): _Customer(name, locale) for cid, name, locale in rows}


async def _proven_visitors(session: AsyncSession, questions: list[Routed]) -> set[str]:
    """Web chat visitors who proved who they are with the shop's identity_hash."""
    visitors = {q.inbound.address for q in questions if q.inbound.channel is Channel.WEBCHAT}
    if not visitors:
        return set()
    rows = await session.scalars(
        select(col(Identity.address)).where(
            col(Identity.channel) == Channel.WEBCHAT.value,
            col(Identity.address).in_(visitors),
            col(Identity.sees_whole_thread).is_(True),
        )
    )
    return set(rows)


def _shared_own_contact(message: InboundMessage) -> bool:
    return message.contact is not None and message.contact.verified


async def _question_before(session: AsyncSession, question: Routed) -> str | None:
    """The customer's previous message in this conversation, if it had any text."""
    text = await session.scalar(
        select(MESSAGES.c.text)
        .where(
            MESSAGES.c.conversation_id == question.conversation_id,
            MESSAGES.c.direction == Direction.INBOUND.value,
            MESSAGES.c.id < question.message_id,
        )
        .order_by(MESSAGES.c.id.desc())
        .limit(1)
    )
    return text if isinstance(text, str) and text.strip() else None


def _conflicting(questions: list[Routed], conflicts: set[int]) -> list[InboundMessage]:
    return [q.inbound for q in questions if q.conversation_id in conflicts]


def _slices(turns: list[PlannedTurn]) -> list[list[PlannedTurn]]:
    """The turns in slices of about WRITE_SLICE, a conversation's turns always in the same
    slice (its stored state is checked against the state its first turn was planned on),
    in order; one empty slice when there is nothing to store (its turn still acks)."""
    by_conversation: dict[int, list[PlannedTurn]] = {}
    for turn in turns:
        by_conversation.setdefault(turn.question.conversation_id, []).append(turn)
    slices: list[list[PlannedTurn]] = [[]]
    for group in by_conversation.values():
        if len(slices[-1]) >= WRITE_SLICE:
            slices.append([])
        slices[-1].extend(group)
    return slices
