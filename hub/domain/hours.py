"""Business hours: a weekly schedule in a time zone, and when the current closed period began.

The schedule is JSON `{"mon": [["09:00","18:00"]], "tue": [...], ...}`; a day absent or
empty is closed; an empty schedule (no day at all) is always open. Times are wall-clock in
the team's zone (zoneinfo), so a daylight-saving change moves the UTC hours with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


def _at(hhmm: str) -> tuple[int, int]:
    hours, minutes = hhmm.split(":")
    return int(hours), int(minutes)


class WeeklyHours(BaseModel):
    """Open spans per weekday; each span is [start, end) with start < end."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mon: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)
    tue: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)
    wed: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)
    thu: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)
    fri: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)
    sat: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)
    sun: list[tuple[_HHMM, _HHMM]] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyHours:
        for day in DAYS:
            for start, end in getattr(self, day):
                if _at(start) >= _at(end):
                    raise ValueError(f"{day}: {start}-{end} ends before it starts")
        return self

    def spans(self, weekday: int) -> list[tuple[str, str]]:
        return list(getattr(self, DAYS[weekday]))

    @property
    def always_open(self) -> bool:
        return not any(getattr(self, day) for day in DAYS)


HOURS = TypeAdapter(WeeklyHours)


def parse_hours(raw: str | None) -> WeeklyHours:
    return HOURS.validate_json(raw) if raw else WeeklyHours()


def zone(name: str) -> ZoneInfo:
    """The IANA zone; ValueError for a name zoneinfo does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _local(day: datetime, hhmm: str, tz: ZoneInfo) -> datetime:
    hours, minutes = _at(hhmm)
    if hours == 24:
        return datetime.combine(day.date() + timedelta(days=1), time(0, 0), tz)
    return datetime.combine(day.date(), time(hours, minutes), tz)


def _open_spans(hours: WeeklyHours, tz: ZoneInfo, now: datetime) -> list[tuple[datetime, datetime]]:
    """Open spans (UTC) from 8 days before `now` to 8 days after, in time order."""
    local_now = now.astimezone(tz)
    spans = []
    for back in range(8, -9, -1):
        day = local_now - timedelta(days=back)
        for start, end in hours.spans(day.weekday()):
            spans.append(
                (_local(day, start, tz).astimezone(UTC), _local(day, end, tz).astimezone(UTC))
            )
    return sorted(spans)


def is_open(hours: WeeklyHours, tz: ZoneInfo, now: datetime) -> bool:
    if hours.always_open:
        return True
    return any(start <= now < end for start, end in _open_spans(hours, tz, now))


def closed_since(hours: WeeklyHours, tz: ZoneInfo, now: datetime) -> datetime | None:
    """When the closed period `now` falls in began (the last open span's end); None when
    open now. A schedule open less than weekly still has an end within the last 8 days."""
    if is_open(hours, tz, now):
        return None
    ends = [end for _, end in _open_spans(hours, tz, now) if end <= now]
    return max(ends) if ends else now - timedelta(days=8)


def next_open(hours: WeeklyHours, tz: ZoneInfo, now: datetime) -> datetime | None:
    """When the team opens next (None: open now, or never within a week)."""
    if is_open(hours, tz, now):
        return None
    starts = [start for start, _ in _open_spans(hours, tz, now) if start > now]
    return min(starts) if starts else None
