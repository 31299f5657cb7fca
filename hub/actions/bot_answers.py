"""Storing what the bots said: one short write turn per batch, each answer exactly once.

Every bot message is keyed by the customer message it answers, on the channel that message
came on: `bot:{message id}` for the first, `bot:{message id}:{n}` for the next ones. The
unique (channel, dedupe_key) of messages makes a second answer impossible, across workers
too, and `answered_keys` lets a redelivered batch skip what was answered already.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.system_notes import note_values
from hub.actions.unit import defer_send_of, record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import PREVIEW_CHARS, Routed
from hub.domain.notes import Note
from hub.domain.types import ConversationStatus, Direction, MessageStatus, SenderType
from hub.models import ConversationLabel, MessageNote
from hub.models.base import utcnow
from hub.models.tables import CONVERSATIONS, MESSAGES, core_table


@dataclass(frozen=True, slots=True)
class BotState:
    """A conversation's bot fields: with the bot or not, and unanswered turns in a row."""

    active: bool
    unanswered: int


@dataclass(frozen=True, slots=True)
class PlannedText:
    text: str
    private: bool = False  # a note for operators (what the bot matched), never sent
    # The note as a key and parameters (hub.actions.system_notes): `text` is its English.
    note: Note | None = None


@dataclass(slots=True)
class PlannedTurn:
    """What to store for one question, and the conversation's bot state before and after."""

    question: Routed  # the customer message this turn answers
    texts: list[PlannedText]
    after: BotState
    before: BotState = field(default_factory=lambda: BotState(True, 0))
    labels: list[str] = field(default_factory=list)  # conversation labels the bots added


@dataclass
class StoredAnswers:
    # Conversations whose bot state changed since the bots read it (an operator took one
    # over, another worker answered): nothing stored for them; plan them again.
    conflicts: set[int] = field(default_factory=set)


def answer_key(message_id: int, n: int = 0) -> str:
    return f"bot:{message_id}" if n == 0 else f"bot:{message_id}:{n}"


async def answered_keys(session: AsyncSession, questions: Iterable[Routed]) -> set[str]:
    """The first answer keys already stored for these questions."""
    keys = {(q.inbound.channel.value, answer_key(q.message_id)) for q in questions}
    if not keys:
        return set()
    rows = await session.scalars(
        select(MESSAGES.c.dedupe_key).where(
            tuple_(MESSAGES.c.channel, MESSAGES.c.dedupe_key).in_(keys)
        )
    )
    return {key for key in rows if key}


@dataclass(slots=True)
class _Current:
    state: BotState
    status: str
    # Folded into another conversation by a merge since the bots read it: plan again.
    merged_into: int | None = None


async def lock_and_read(session: AsyncSession, ids: set[int]) -> dict[int, _Current]:
    """Write first, then read: the no-op UPDATE takes the row locks (PostgreSQL) or the
    write lock (SQLite), so what is read stays true until this turn commits; an operator
    taking the conversation over meanwhile waits for it."""
    await session.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id.in_(ids))
        .values(bot_unanswered=CONVERSATIONS.c.bot_unanswered)
    )
    rows = await session.execute(
        select(
            CONVERSATIONS.c.id,
            CONVERSATIONS.c.bot_active,
            CONVERSATIONS.c.bot_unanswered,
            CONVERSATIONS.c.status,
            CONVERSATIONS.c.merged_into_id,
        ).where(CONVERSATIONS.c.id.in_(ids))
    )
    return {
        int(vid): _Current(BotState(bool(active), int(unanswered)), status, merged)
        for vid, active, unanswered, status, merged in rows
    }


_UPDATE_CONVERSATION = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        bot_active=bindparam("b_active"),
        bot_unanswered=bindparam("b_unanswered"),
        status=bindparam("b_status"),
    )
)
_UPDATE_ANSWERED = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        bot_active=bindparam("b_active"),
        bot_unanswered=bindparam("b_unanswered"),
        status=bindparam("b_status"),
        last_message_at=bindparam("b_at"),
        last_message_text=bindparam("b_text"),
    )
)


async def store_answers(session: AsyncSession, turns: Sequence[PlannedTurn]) -> StoredAnswers:
    """Store the planned bot messages and bot states; their sends and events are
    deferred to the caller's `commit_and_publish`."""
    stored = StoredAnswers()
    if not turns:
        return stored
    current = await lock_and_read(session, {t.question.conversation_id for t in turns})
    for turn in turns:
        found = current.get(turn.question.conversation_id)
        if found is None or found.state != turn.before or found.merged_into is not None:
            stored.conflicts.add(turn.question.conversation_id)
    answered = await answered_keys(session, [t.question for t in turns])
    kept = [
        t
        for t in turns
        if t.question.conversation_id not in stored.conflicts
        and answer_key(t.question.message_id) not in answered
    ]
    now = utcnow()
    pieces = [(t.question, n, piece) for t in kept for n, piece in enumerate(t.texts)]
    ids = await _insert_messages(session, [_row(q, n, piece, now) for q, n, piece in pieces])
    notes = [
        note_values(message_id, piece.note)
        for message_id, (_, _, piece) in zip(ids, pieces, strict=True)
        if piece.note is not None
    ]
    if notes:
        await session.execute(insert(core_table(MessageNote)), notes)
    for message_id, (question, _, piece) in zip(ids, pieces, strict=True):
        record(
            session,
            Event(
                events.MESSAGE_CREATED,
                conversation_id=question.conversation_id,
                customer_id=question.customer_id,
                data={"message_id": message_id},
            ),
        )
        if not piece.private:
            defer_send_of(session, message_id, question.conversation_id)
    await _update_conversations(session, kept, current, now)
    await _add_labels(session, kept)
    return stored


async def _add_labels(session: AsyncSession, turns: Sequence[PlannedTurn]) -> None:
    """The labels the bots gave (the intent of a question they handed off), each once."""
    wanted = {(t.question.conversation_id, label) for t in turns for label in t.labels}
    if not wanted:
        return
    rows = await session.execute(
        select(col(ConversationLabel.conversation_id), col(ConversationLabel.label)).where(
            col(ConversationLabel.conversation_id).in_({vid for vid, _ in wanted})
        )
    )
    have = {(int(vid), str(label)) for vid, label in rows}
    session.add_all(
        ConversationLabel(conversation_id=vid, label=label) for vid, label in sorted(wanted - have)
    )


def _row(question: Routed, n: int, piece: PlannedText, now: datetime) -> dict[str, object]:
    """The message row of the `n`-th text of the answer to `question`."""
    return {
        "conversation_id": question.conversation_id,
        "customer_id": question.customer_id,
        "direction": Direction.OUTBOUND.value,
        "sender_type": SenderType.BOT.value,
        "channel": question.inbound.channel.value,
        "text": piece.text,
        "private": piece.private,
        "status": (MessageStatus.RECEIVED if piece.private else MessageStatus.QUEUED).value,
        "address": None if piece.private else question.inbound.address,
        "dedupe_key": answer_key(question.message_id, n),
        "created_at": now,
    }


async def _insert_messages(session: AsyncSession, rows: list[dict[str, object]]) -> list[int]:
    """Insert in one executemany, then read the ids back by their unique keys (an ordered
    INSERT ... RETURNING runs one statement per row on SQLite); the ids in insertion order.
    No model is built per row: the events and sends need the id only."""
    if not rows:
        return []
    await session.execute(insert(MESSAGES), rows)
    found = await session.execute(
        select(MESSAGES.c.id, MESSAGES.c.channel, MESSAGES.c.dedupe_key).where(
            tuple_(MESSAGES.c.channel, MESSAGES.c.dedupe_key).in_(
                [(r["channel"], r["dedupe_key"]) for r in rows]
            )
        )
    )
    ids = {(channel, key): int(mid) for mid, channel, key in found}
    return [ids[(r["channel"], r["dedupe_key"])] for r in rows]


async def _update_conversations(
    session: AsyncSession,
    turns: Sequence[PlannedTurn],
    current: dict[int, _Current],
    now: datetime,
) -> None:
    """Each conversation once: its bot state after its last turn, and its last sent text."""
    states: dict[int, dict[str, object]] = {}
    previews: dict[int, dict[str, object]] = {}
    customers: dict[int, int] = {}
    for turn in turns:
        vid = turn.question.conversation_id
        customers[vid] = turn.question.customer_id
        handed_off = turn.before.active and not turn.after.active
        status = current[vid].status
        states[vid] = {
            "b_id": vid,
            "b_active": turn.after.active,
            "b_unanswered": turn.after.unanswered,
            # A handed-off conversation waits, open, for a person; one an operator resolved
            # meanwhile stays resolved (reopening it could make a second unresolved thread).
            "b_status": ConversationStatus.OPEN.value
            if handed_off and status != ConversationStatus.RESOLVED.value
            else status,
        }
        for piece in turn.texts:
            if not piece.private:
                previews[vid] = {"b_at": now, "b_text": piece.text[:PREVIEW_CHARS]}
    # One executemany for the conversations the bots said something to (state and last
    # text together), one for those they only changed (a handoff with nothing sent).
    answered = [{**state, **previews[vid]} for vid, state in states.items() if vid in previews]
    unchanged_text = [state for vid, state in states.items() if vid not in previews]
    if answered:
        await session.execute(_UPDATE_ANSWERED, answered)
    if unchanged_text:
        await session.execute(_UPDATE_CONVERSATION, unchanged_text)
    for vid, customer_id in customers.items():
        record(
            session,
            Event(events.CONVERSATION_UPDATED, conversation_id=vid, customer_id=customer_id),
        )
