"""Conversation state: the thread a customer's message joins, assignment, status, labels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import ConversationStatus
from hub.errors import InvalidInput, NotFound
from hub.models import Conversation, ConversationLabel, ConversationResolution, Operator


async def current_conversations(
    session: AsyncSession, customer_ids: Iterable[int]
) -> dict[int, Conversation]:
    """Each customer's latest conversation that is not resolved (the one a message joins)."""
    ids = set(customer_ids)
    if not ids:
        return {}
    rows = await session.scalars(
        select(Conversation)
        .where(
            col(Conversation.customer_id).in_(ids),
            col(Conversation.status) != ConversationStatus.RESOLVED,
        )
        .order_by(col(Conversation.id))
    )
    return {c.customer_id: c for c in rows}


async def get_conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def changed(session: AsyncSession, conversation: Conversation) -> None:
    session.add(conversation)
    record(
        session,
        Event(
            events.CONVERSATION_UPDATED,
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
        ),
    )


async def do_assign(
    session: AsyncSession, conversation: Conversation, operator_id: int | None
) -> Conversation:
    if operator_id is not None and await session.get(Operator, operator_id) is None:
        raise InvalidInput(f"operator {operator_id} does not exist")
    conversation.assignee_id = operator_id
    changed(session, conversation)
    return conversation


async def do_set_status(
    session: AsyncSession,
    conversation: Conversation,
    status: ConversationStatus,
    snooze_until: datetime | None,
    *,
    by: int | None = None,
) -> Conversation:
    """`by` is the operator making the change: a resolution is recorded with it (reports)."""
    if status is ConversationStatus.SNOOZED and snooze_until is None:
        raise InvalidInput("snooze_until is required to snooze a conversation")
    if status is ConversationStatus.RESOLVED and conversation.status != status:
        session.add(ConversationResolution(conversation_id=conversation.id, operator_id=by))  # type: ignore[arg-type]
    conversation.status = status
    conversation.snooze_until = snooze_until if status is ConversationStatus.SNOOZED else None
    if status is ConversationStatus.RESOLVED:
        conversation.bot_active = True  # a resolved conversation goes back to the bot
    changed(session, conversation)
    return conversation


async def do_set_labels(
    session: AsyncSession, conversation: Conversation, labels: list[str]
) -> Conversation:
    clean = sorted({label.strip() for label in labels if label.strip()})
    if any(len(label) > 64 for label in clean):
        raise InvalidInput("a label is at most 64 characters")
    await session.execute(
        delete(ConversationLabel).where(col(ConversationLabel.conversation_id) == conversation.id)
    )
    session.add_all(ConversationLabel(conversation_id=conversation.id, label=lbl) for lbl in clean)  # type: ignore[arg-type]
    changed(session, conversation)
    return conversation


async def labels_of(session: AsyncSession, conversation_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(conversation_ids)
    result: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(col(ConversationLabel.conversation_id), col(ConversationLabel.label))
            .where(col(ConversationLabel.conversation_id).in_(ids))
            .order_by(col(ConversationLabel.label))
        )
        for conversation_id, label in rows:
            result[conversation_id].append(label)
    return result
