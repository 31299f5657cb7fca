"""Conversation state: the thread a customer's message joins, assignment, status, labels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import ConversationStatus
from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import (
    Conversation,
    ConversationLabel,
    ConversationResolution,
    Operator,
)
from hub.models.base import utcnow


async def unresolved_conversation(session: AsyncSession, customer_id: int) -> Conversation | None:
    """The customer's one conversation that is not resolved, if any (SPEC §6)."""
    rows = await session.scalars(
        select(Conversation)
        .where(
            col(Conversation.customer_id) == customer_id,
            col(Conversation.status) != ConversationStatus.RESOLVED.value,
        )
        .order_by(col(Conversation.id))
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return rows.first()


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
    # A person placed it: auto-assignment leaves it alone, also once unassigned again.
    conversation.routed_at = conversation.routed_at or utcnow()
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
    if conversation.status == ConversationStatus.RESOLVED and status != conversation.status:
        await check_can_reopen(session, conversation)
    resolving = status is ConversationStatus.RESOLVED and conversation.status != status
    if resolving:
        session.add(ConversationResolution(conversation_id=conversation.id, operator_id=by))  # type: ignore[arg-type]
    conversation.status = status
    conversation.snooze_until = snooze_until if status is ConversationStatus.SNOOZED else None
    if status is ConversationStatus.RESOLVED:
        conversation.bot_active = True  # a resolved conversation goes back to the bot
    changed(session, conversation)
    if resolving:  # for the shop's tools (outgoing webhooks); the inbox has the update
        record(
            session,
            Event(
                events.CONVERSATION_RESOLVED,
                conversation_id=conversation.id,
                customer_id=conversation.customer_id,
            ),
        )
    return conversation


async def check_can_reopen(session: AsyncSession, conversation: Conversation) -> None:
    """One thread per customer: a resolved conversation reopens only when the customer has
    no other unresolved one (a folded one never does: its thread lives on elsewhere)."""
    if conversation.merged_into_id is not None:
        raise Conflict(
            f"this conversation was merged into #{conversation.merged_into_id}",
            code="merged",
        )
    current = await unresolved_conversation(session, conversation.customer_id)
    if current is not None and current.id != conversation.id:
        raise Conflict(
            f"the customer's conversation #{current.id} is still open: continue there",
            code="another_unresolved",
        )


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


def do_set_bot_active(session: AsyncSession, conversation: Conversation, active: bool) -> None:
    """ "Let the bot answer" (True) or "take over" (False)."""
    conversation.bot_active = active
    changed(session, conversation)
