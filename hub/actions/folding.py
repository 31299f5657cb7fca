"""Folding two customers' unresolved conversations into one when the customers merge.

One thread per customer (SPEC §6): the older conversation survives; the other's messages
join it (they keep their ids, so the thread stays in stored order, which is time order),
its labels are added, an assignee is kept (the survivor's, else the other's), the livelier
status wins and a conversation an operator took from the bot stays with the operators.
The folded conversation is kept, `resolved`, with `merged_into_id`, so its id still
resolves. Migration 0007 folds existing databases by the same rules.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed, unresolved_conversation
from hub.actions.timeline import TimelineKind, note
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import ConversationStatus
from hub.models import Conversation, ConversationLabel, Message

# Of two unresolved statuses, the one that asks more of the operators wins.
_LIVELINESS = {
    ConversationStatus.OPEN.value: 3,
    ConversationStatus.PENDING.value: 2,
    ConversationStatus.SNOOZED.value: 1,
}


async def _move_labels(session: AsyncSession, survivor_id: int, folded_id: int) -> None:
    rows = (
        await session.execute(
            select(col(ConversationLabel.conversation_id), col(ConversationLabel.label)).where(
                col(ConversationLabel.conversation_id).in_([survivor_id, folded_id])
            )
        )
    ).all()
    have = {label for cid, label in rows if cid == survivor_id}
    moving = {label for cid, label in rows if cid == folded_id} - have
    session.add_all(ConversationLabel(conversation_id=survivor_id, label=lbl) for lbl in moving)


async def fold_conversations(
    session: AsyncSession, survivor_customer_id: int, other_customer_id: int
) -> Conversation | None:
    """Fold the two customers' unresolved conversations into the older one (if both have
    one) before the other's rows move to the survivor; returns the surviving thread."""
    mine = await unresolved_conversation(session, survivor_customer_id)
    theirs = await unresolved_conversation(session, other_customer_id)
    if mine is None or theirs is None:
        return mine or theirs
    keep, fold = (mine, theirs) if (mine.id or 0) < (theirs.id or 0) else (theirs, mine)
    assert keep.id is not None and fold.id is not None
    await session.execute(
        update(Message)
        .where(col(Message.conversation_id) == fold.id)
        .values(conversation_id=keep.id)
    )
    await _move_labels(session, keep.id, fold.id)
    if _LIVELINESS.get(fold.status, 0) > _LIVELINESS.get(keep.status, 0):
        keep.status = fold.status
    keep.snooze_until = keep.snooze_until if keep.status == ConversationStatus.SNOOZED else None
    keep.assignee_id = keep.assignee_id or fold.assignee_id
    keep.bot_active = keep.bot_active and fold.bot_active
    if (fold.last_message_at, fold.id) > (keep.last_message_at, keep.id):
        keep.last_message_at = fold.last_message_at
        keep.last_message_text = fold.last_message_text
        keep.channel = fold.channel
    fold.status = ConversationStatus.RESOLVED.value
    fold.snooze_until = None
    fold.merged_into_id = keep.id
    changed(session, fold)
    changed(session, keep)
    record(  # resolved by the merge: `merged_into` tells the shop's tools it lives on
        session,
        Event(events.CONVERSATION_RESOLVED, conversation_id=fold.id, customer_id=fold.customer_id),
    )
    await session.flush()
    note(
        session,
        survivor_customer_id,
        TimelineKind.FOLD,
        rule=f"conversation #{fold.id} into #{keep.id}",
    )
    return keep
