"""Operators as the inbox lists them (assignment menu, admin page)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import (
    Operator,
)


async def list_operators(session: AsyncSession) -> list[Operator]:
    return list((await session.scalars(select(Operator).order_by(col(Operator.name)))).all())
