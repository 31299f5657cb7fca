"""CSAT figures for the reports page: answers given in a period (responses, average, share
satisfied, per score) overall and per operator (the assignee when the question was asked),
and how many questions were asked in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.csat import HIGHEST, LOWEST, is_satisfied
from hub.models import CsatRating, Operator

SCORES = tuple(range(LOWEST, HIGHEST + 1))


@dataclass(frozen=True)
class Satisfaction:
    """Ratings answered in the period: how many, their sum, how many 4–5, per score."""

    responses: int = 0
    total: int = 0
    satisfied: int = 0
    by_score: tuple[int, ...] = (0, 0, 0, 0, 0)

    @property
    def average(self) -> float | None:
        return self.total / self.responses if self.responses else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.responses if self.responses else None

    @classmethod
    def of(cls, ratings: Sequence[int]) -> Satisfaction:
        by_score = tuple(sum(1 for r in ratings if r == score) for score in SCORES)
        satisfied = sum(1 for r in ratings if is_satisfied(r))
        return cls(len(ratings), sum(ratings), satisfied, by_score)


@dataclass(frozen=True)
class OperatorSatisfaction:
    operator_id: int
    name: str
    figures: Satisfaction


async def satisfaction(
    session: AsyncSession, since: datetime, until: datetime, channel: str | None
) -> tuple[Satisfaction, int, list[OperatorSatisfaction]]:
    """(all answers, questions asked, per operator sorted by name) for [since, until)."""
    answered = select(col(CsatRating.operator_id), col(CsatRating.rating)).where(
        and_(col(CsatRating.answered_at) >= since, col(CsatRating.answered_at) < until),
        col(CsatRating.rating).is_not(None),
    )
    asked = (
        select(func.count())
        .select_from(CsatRating)
        .where(col(CsatRating.asked_at) >= since, col(CsatRating.asked_at) < until)
    )
    if channel:
        answered = answered.where(col(CsatRating.channel) == channel)
        asked = asked.where(col(CsatRating.channel) == channel)
    rows = [(op, int(r or 0)) for op, r in await session.execute(answered)]
    per: dict[int, list[int]] = defaultdict(list)
    for operator_id, rating in rows:
        if operator_id is not None:
            per[operator_id].append(rating)
    names: dict[int, str] = {}
    if per:
        found = await session.execute(
            select(col(Operator.id), col(Operator.name)).where(col(Operator.id).in_(per))
        )
        names = {int(i or 0): str(n) for i, n in found}
    operators = sorted(
        (
            OperatorSatisfaction(i, names.get(i, f"#{i}"), Satisfaction.of(ratings))
            for i, ratings in per.items()
        ),
        key=lambda o: (o.name.lower(), o.operator_id),
    )
    total = Satisfaction.of([r for _, r in rows])
    return total, int(await session.scalar(asked) or 0), operators
