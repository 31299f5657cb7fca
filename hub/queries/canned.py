"""Canned responses as the inbox offers them: the list, and `/shortcut` expanded."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import (
    CannedResponse,
)


async def all_canned(session: AsyncSession) -> list[CannedResponse]:
    rows = await session.scalars(select(CannedResponse).order_by(col(CannedResponse.shortcut)))
    return list(rows.all())


async def expand_canned(session: AsyncSession, text: str) -> str:
    """`/shortcut` alone in the reply box stands for its canned text (also without JS)."""
    stripped = text.strip()
    if not stripped.startswith("/") or " " in stripped:
        return text
    canned = await session.scalar(
        select(CannedResponse).where(col(CannedResponse.shortcut) == stripped[1:])
    )
    return canned.text if canned is not None else text
