"""Reads of satisfaction ratings for the thread and the customer card."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import CsatRating

CARD_RATINGS = 10


async def ratings_by_question(session: AsyncSession, conversation_id: int) -> dict[int, CsatRating]:
    """The conversation's questions (by the question message's id) and their answers."""
    rows = await session.scalars(
        select(CsatRating).where(col(CsatRating.conversation_id) == conversation_id)
    )
    return {r.question_id: r for r in rows if r.question_id is not None}


async def customer_ratings(session: AsyncSession, customer_id: int) -> list[CsatRating]:
    """The customer's latest answers, newest first (unanswered questions left out)."""
    rows = await session.scalars(
        select(CsatRating)
        .where(col(CsatRating.customer_id) == customer_id, col(CsatRating.rating).is_not(None))
        .order_by(col(CsatRating.answered_at).desc())
        .limit(CARD_RATINGS)
    )
    return list(rows)
