"""SLA reads: each listed conversation's clocks, and met/breached counts for reports.

A conversation's resolution is its first resolve (`conversation_resolutions`); a resolved
conversation reopened later keeps that first time, as support desks count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.rules import PRIORITIES
from hub.domain.sla import Clock, ConversationSla, SlaPolicy, conversation_sla
from hub.models import Conversation, ConversationResolution
from hub.queries.routing_settings import sla_policy


async def _resolved_at(session: AsyncSession, ids: Sequence[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            col(ConversationResolution.conversation_id),
            func.min(ConversationResolution.resolved_at),
        )
        .where(col(ConversationResolution.conversation_id).in_(ids))
        .group_by(col(ConversationResolution.conversation_id))
    )
    return {cid: at for cid, at in rows if at is not None}


def _sla(
    policy: SlaPolicy, row: Conversation, resolved: dict[int, datetime], now: datetime
) -> ConversationSla:
    return conversation_sla(
        policy,
        row.priority,
        row.created_at,
        row.first_reply_at,
        resolved.get(row.id or 0),
        now,
    )


async def sla_states(
    session: AsyncSession, conversations: Sequence[Conversation], now: datetime
) -> dict[int, ConversationSla]:
    """Each conversation's two clocks, for list rows and the thread."""
    policy = await sla_policy(session)
    resolved = await _resolved_at(session, [c.id for c in conversations if c.id is not None])
    return {c.id: _sla(policy, c, resolved, now) for c in conversations if c.id is not None}


@dataclass
class SlaTally:
    met: int = 0
    breached: int = 0  # done late, or still not done past the due time
    pending: int = 0  # not done, not yet due

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def met_share(self) -> float | None:
        return self.met / self.total if self.total else None

    def add(self, clock: Clock) -> None:
        if clock is Clock.MET:
            self.met += 1
        elif clock in (Clock.BREACHED, Clock.OVERDUE):
            self.breached += 1
        elif clock in (Clock.RUNNING, Clock.DUE_SOON):
            self.pending += 1


@dataclass
class SlaReport:
    first_response: SlaTally = field(default_factory=SlaTally)
    resolution: SlaTally = field(default_factory=SlaTally)
    by_priority: dict[str, tuple[SlaTally, SlaTally]] = field(default_factory=dict)


async def sla_report(
    session: AsyncSession, since: datetime, until: datetime, now: datetime
) -> SlaReport:
    """Conversations created in [since, until): how many met or breached each target."""
    policy = await sla_policy(session)
    rows = list(
        await session.scalars(
            select(Conversation).where(
                col(Conversation.created_at) >= since,
                col(Conversation.created_at) < until,
                col(Conversation.merged_into_id).is_(None),
            )
        )
    )
    resolved = await _resolved_at(session, [r.id for r in rows if r.id is not None])
    report = SlaReport(by_priority={p: (SlaTally(), SlaTally()) for p in PRIORITIES})
    for row in rows:
        sla = _sla(policy, row, resolved, now)
        first, resolution = report.by_priority.setdefault(row.priority, (SlaTally(), SlaTally()))
        for tally in (report.first_response, first):
            tally.add(sla.first_response.clock)
        for tally in (report.resolution, resolution):
            tally.add(sla.resolution.clock)
    return report
