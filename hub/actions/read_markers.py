"""What each operator has read: a conversation is unread for them until they open it."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import (
    ConversationRead,
)
from hub.models.base import utcnow


async def do_mark_read(session: AsyncSession, operator_id: int, conversation_id: int) -> None:
    """Idempotent upsert: two tabs opening the same thread at once both succeed."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    await session.execute(
        dialect.insert(ConversationRead)
        .values(operator_id=operator_id, conversation_id=conversation_id, read_at=now)
        .on_conflict_do_update(
            index_elements=["operator_id", "conversation_id"], set_={"read_at": now}
        )
    )
