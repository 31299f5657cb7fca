"""SLA maths: first-response and resolution targets per priority, due times and states.

Targets are minutes per priority (admin settings, hub.actions.routing_settings); a target
of 0 means "no target". A conversation's clock starts when it was created; the first
response is the first operator reply, the resolution its (first) resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.rules import PRIORITIES

_MINUTES = Field(ge=0, le=60 * 24 * 90)
# A clock this close to its end is shown as "due soon".
DUE_SOON = 0.25


class Targets(BaseModel):
    """Minutes to the target for one priority (0: none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    first_response: int = _MINUTES
    resolution: int = _MINUTES


class SlaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    low: Targets = Targets(first_response=8 * 60, resolution=5 * 24 * 60)
    normal: Targets = Targets(first_response=4 * 60, resolution=3 * 24 * 60)
    high: Targets = Targets(first_response=60, resolution=24 * 60)
    urgent: Targets = Targets(first_response=15, resolution=4 * 60)

    def of(self, priority: str) -> Targets:
        found: Targets = getattr(self, priority if priority in PRIORITIES else "normal")
        return found


class Clock(StrEnum):
    NONE = "none"  # no target for this priority
    RUNNING = "running"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"  # still not done, past the due time
    MET = "met"
    BREACHED = "breached"  # done, but after the due time


@dataclass(frozen=True, slots=True)
class SlaState:
    clock: Clock
    due_at: datetime | None

    @property
    def late(self) -> bool:
        return self.clock in (Clock.OVERDUE, Clock.BREACHED)


def clock(
    started: datetime, target_minutes: int, done_at: datetime | None, now: datetime
) -> SlaState:
    """Where one SLA clock stands at `now`."""
    if target_minutes <= 0:
        return SlaState(Clock.NONE, None)
    span = timedelta(minutes=target_minutes)
    due = started + span
    if done_at is not None:
        return SlaState(Clock.MET if done_at <= due else Clock.BREACHED, due)
    if now > due:
        return SlaState(Clock.OVERDUE, due)
    if due - now <= span * DUE_SOON:
        return SlaState(Clock.DUE_SOON, due)
    return SlaState(Clock.RUNNING, due)


@dataclass(frozen=True, slots=True)
class ConversationSla:
    first_response: SlaState
    resolution: SlaState

    @property
    def headline(self) -> SlaState:
        """The clock an operator must act on: the first response until given, else resolution."""
        return self.first_response if self.headline_kind == "first_response" else self.resolution

    @property
    def headline_kind(self) -> str:
        if self.first_response.clock in (Clock.RUNNING, Clock.DUE_SOON, Clock.OVERDUE):
            return "first_response"
        return "resolution"


def conversation_sla(
    policy: SlaPolicy,
    priority: str,
    created_at: datetime,
    first_reply_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
) -> ConversationSla:
    targets = policy.of(priority)
    return ConversationSla(
        clock(created_at, targets.first_response, first_reply_at, now),
        clock(created_at, targets.resolution, resolved_at, now),
    )
