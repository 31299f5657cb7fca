"""The labels in use, managed as a list: renaming or deleting one changes every
conversation that has it (labels live on conversations, there is no label table)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed
from hub.errors import InvalidInput, NotFound
from hub.models import Conversation, ConversationLabel

MAX_LABEL_CHARS = 64


def check_label(label: str) -> str:
    clean = label.strip()
    if not clean:
        raise InvalidInput("a label must not be empty")
    if len(clean) > MAX_LABEL_CHARS:
        raise InvalidInput("a label is at most 64 characters")
    return clean


async def labels_in_use(session: AsyncSession) -> list[tuple[str, int]]:
    """Every label with how many conversations have it, by name."""
    rows = await session.execute(
        select(col(ConversationLabel.label), func.count())
        .group_by(col(ConversationLabel.label))
        .order_by(col(ConversationLabel.label))
    )
    return [(label, int(n)) for label, n in rows]


async def _labelled(session: AsyncSession, label: str) -> list[int]:
    ids = await session.scalars(
        select(col(ConversationLabel.conversation_id)).where(col(ConversationLabel.label) == label)
    )
    found = list(ids.all())
    if not found:
        raise NotFound(f"no conversation has the label {label}")
    return found


async def _touched(session: AsyncSession, conversation_ids: list[int]) -> None:
    """Each changed conversation is announced, so open lists and threads refresh."""
    rows = await session.scalars(
        select(Conversation).where(col(Conversation.id).in_(conversation_ids))
    )
    for conversation in rows:
        changed(session, conversation)


async def do_rename_label(session: AsyncSession, old: str, new: str) -> int:
    """`old` becomes `new` everywhere (merged where a conversation has both); answers how
    many conversations changed."""
    new = check_label(new)
    ids = await _labelled(session, old)
    if new == old:
        return 0
    both = select(col(ConversationLabel.conversation_id)).where(col(ConversationLabel.label) == new)
    await session.execute(
        delete(ConversationLabel).where(
            col(ConversationLabel.label) == old, col(ConversationLabel.conversation_id).in_(both)
        )
    )
    await session.execute(
        update(ConversationLabel).where(col(ConversationLabel.label) == old).values(label=new)
    )
    await _touched(session, ids)
    return len(ids)


async def do_delete_label(session: AsyncSession, label: str) -> int:
    ids = await _labelled(session, label)
    await session.execute(delete(ConversationLabel).where(col(ConversationLabel.label) == label))
    await _touched(session, ids)
    return len(ids)
