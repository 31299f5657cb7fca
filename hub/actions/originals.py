"""The full original of a stored inbound mail, for an operator who wants to see it whole."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.errors import NotFound
from hub.models import MessageSource


async def stored_original(session: AsyncSession, message_id: int) -> bytes:
    """The mail's bytes exactly as they arrived; NotFound for a message without one."""
    raw = await session.scalar(
        select(col(MessageSource.raw)).where(col(MessageSource.message_id) == message_id)
    )
    if raw is None:
        raise NotFound(f"message {message_id} has no original mail")
    return bytes(raw)
