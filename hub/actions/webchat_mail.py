"""Web chat replies a visitor never saw live reach them by email (SPEC §4), but only at a
proven email of their customer (SPEC §6: a typed email is a claim, never a fallback).

Presence: each web process stamps `webchat_presence.seen_at` when a visitor's socket opens,
when a reply is pushed to it and when it closes; so a reply older than the stamp was sent
while, or before, a socket of theirs was open (the welcome history shows it). A reply with
no later stamp was never on a screen.

The worker's chore (hub.chores.webchat_mail) walks the messages in id order behind a cursor
in hub_settings, moved with a compare-and-set in the same transaction as the emails it
queues: each reply is looked at once, by one worker, also across restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.replies import MAX_REPLY_CHARS, do_reply, reply_address
from hub.actions.system_notes import do_add_system_note
from hub.actions.texts import pick_locale, render
from hub.domain.notes import Note
from hub.domain.types import Channel, Direction, SenderType
from hub.models import Conversation, Customer, HubSetting, Message, Operator, WebchatPresence
from hub.models.base import utcnow

CURSOR = "webchat_mail.cursor"
# Messages read per step; a chore run steps on until it meets what is not due yet, at
# most STEPS times (the rest is the next run's: a write turn is never held for long).
BATCH = 500
STEPS = 10
# Replies older than this past their due time are never emailed: a worker down for long
# does not mail old chats out of the blue (a hub turning the feature on starts after the
# messages it already has).
LOOKBACK = timedelta(days=1)
_REPLIES = (SenderType.OPERATOR.value, SenderType.BOT.value)


async def do_mark_seen(session: AsyncSession, visitor_id: str) -> None:
    """The visitor has a socket open now (idempotent upsert: two tabs at once both pass)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    await session.execute(
        dialect.insert(WebchatPresence)
        .values(visitor_id=visitor_id, seen_at=now)
        .on_conflict_do_update(index_elements=["visitor_id"], set_={"seen_at": now})
    )


@dataclass(frozen=True, slots=True)
class _Reply:
    """A web chat reply due to be looked at."""

    id: int
    conversation_id: int
    visitor_id: str
    sender_type: str
    operator_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Emailed:
    """One email queued: the conversation and how many unseen replies it carries."""

    conversation_id: int
    replies: int


async def do_email_unseen(
    session: AsyncSession, now: datetime, after: timedelta
) -> list[Emailed] | None:
    """Queue one email per conversation with the web chat replies sent more than `after`
    ago that their visitor never saw, and move the cursor past every message looked at;
    the caller commits. None: another worker moved the cursor first (its turn, not ours)."""
    raw = await session.scalar(select(col(HubSetting.value)).where(col(HubSetting.key) == CURSOR))
    if raw is None:  # the first run ever: replies from now on, none of the past
        latest = await session.scalar(select(func.max(col(Message.id))))
        return [] if await _move_cursor(session, None, int(latest or 0)) else None
    start = int(raw)
    # Read before the replies: every message up to it is in the reads below, so when they
    # run out the cursor may pass all of it (the other messages are nothing to mail).
    latest = int(await session.scalar(select(func.max(col(Message.id)))) or start)
    cursor, due = start, list[_Reply]()
    for _ in range(STEPS):
        rows = (
            await session.execute(
                select(
                    col(Message.id),
                    col(Message.conversation_id),
                    col(Message.address),
                    col(Message.sender_type),
                    col(Message.operator_id),
                    col(Message.created_at),
                )
                # Only the replies a visitor should read reach Python: every other message
                # (most of them, under load) is passed over by the database.
                .where(
                    col(Message.id) > cursor,
                    col(Message.channel) == Channel.WEBCHAT.value,
                    col(Message.direction) == Direction.OUTBOUND.value,
                    col(Message.sender_type).in_(_REPLIES),
                    col(Message.private).is_(False),
                    col(Message.address).is_not(None),
                )
                .order_by(col(Message.id))
                .limit(BATCH)
            )
        ).all()
        stopped = False
        for mid, cid, address, sender, oid, at in rows:
            assert address is not None  # filtered by the query
            if at > now - after:
                stopped = True  # not due yet: it and all after it wait for a later run
                break
            if at >= now - after - LOOKBACK:
                due.append(_Reply(mid or 0, cid, address, sender, oid, at))
            cursor = mid or cursor
        if stopped:
            break
        if len(rows) < BATCH:
            cursor = max(cursor, latest)
            break
    if cursor == start:
        return []  # nothing new since the last run
    if not await _move_cursor(session, raw, cursor):
        return None
    unseen = await _unseen(session, due)
    emailed = []
    for conversation_id, replies in _by_conversation(unseen).items():
        sent = await _email(session, conversation_id, replies)
        if sent is not None:
            emailed.append(sent)
    return emailed


async def _move_cursor(session: AsyncSession, old: str | None, new: int) -> bool:
    """Compare-and-set: False when another worker moved it since we read it."""
    if old is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        result = await session.execute(
            dialect.insert(HubSetting)
            .values(key=CURSOR, value=str(new))
            .on_conflict_do_nothing(index_elements=["key"])
        )
    else:
        result = await session.execute(
            update(HubSetting)
            .where(col(HubSetting.key) == CURSOR, col(HubSetting.value) == old)
            .values(value=str(new))
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _unseen(session: AsyncSession, due: list[_Reply]) -> list[_Reply]:
    """The due replies sent after their visitor's last open socket (or to one never seen)."""
    visitors = {reply.visitor_id for reply in due}
    if not visitors:
        return []
    rows = await session.execute(
        select(col(WebchatPresence.visitor_id), col(WebchatPresence.seen_at)).where(
            col(WebchatPresence.visitor_id).in_(visitors)
        )
    )
    seen = {visitor_id: at for visitor_id, at in rows}
    return [r for r in due if (at := seen.get(r.visitor_id)) is None or at < r.created_at]


def _by_conversation(replies: Iterable[_Reply]) -> dict[int, list[_Reply]]:
    grouped: dict[int, list[_Reply]] = {}
    for reply in replies:
        grouped.setdefault(reply.conversation_id, []).append(reply)
    return grouped


async def _email(
    session: AsyncSession, conversation_id: int, replies: list[_Reply]
) -> Emailed | None:
    """One email in the customer's thread carrying the replies, and a private note saying
    why; nothing when the customer has no proven email (a claim is never written to)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    customer = await session.get(Customer, conversation.customer_id)
    if customer is None or customer.merged_into_id is not None:
        return None
    address = await reply_address(session, customer.id or 0, Channel.EMAIL.value)
    if address is None:
        return None
    names = await _operator_names(session, {r.operator_id for r in replies})
    texts = dict(
        (
            await session.execute(
                select(col(Message.id), col(Message.text)).where(
                    col(Message.id).in_([r.id for r in replies])
                )
            )
        ).all()
    )
    items = [
        {
            "who": names.get(r.operator_id or 0) if r.sender_type == SenderType.OPERATOR else None,
            "text": texts.get(r.id, ""),
        }
        for r in replies
    ]
    locale = pick_locale(customer.locale, str(items[-1]["text"]))
    text = render(locale, "webchat_missed", {"replies": items, "count": len(items)})
    if len(text) > MAX_REPLY_CHARS:
        text = text[: MAX_REPLY_CHARS - 1] + "…"
    message = await do_reply(
        session, conversation, text, sender_type=SenderType.SYSTEM, channel=Channel.EMAIL.value
    )
    where = await session.get(Conversation, message.conversation_id) or conversation
    note = Note("webchat.replies_emailed", {"count": len(replies), "address": address})
    await do_add_system_note(session, where, note)
    return Emailed(message.conversation_id, len(replies))


async def _operator_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(Operator.id), col(Operator.name)).where(col(Operator.id).in_(wanted))
    )
    return {int(oid or 0): name for oid, name in rows}
