"""When a snooze ends: a time the operator picked, or a preset (in one hour, tomorrow at
9:00, next Monday at 9:00) read in the operator's own time zone, which the page sends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import InvalidInput

PRESETS = ("1h", "tomorrow", "next_week")
MORNING = time(9, 0)
MAX_ZONE_CHARS = 64


def operator_zone(name: str, offset_minutes: str) -> tzinfo:
    """The browser's IANA zone when it names a real one, else its current UTC offset (JS
    `getTimezoneOffset()`: minutes to add to local time to get UTC), else UTC."""
    if name and len(name) <= MAX_ZONE_CHARS and "." not in name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        minutes = int(offset_minutes or "0")
    except ValueError:
        minutes = 0
    if abs(minutes) > 14 * 60:
        minutes = 0
    return timezone(-timedelta(minutes=minutes))


def _at_morning(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, MORNING, tzinfo=zone).astimezone(UTC)


def preset_until(preset: str, zone: tzinfo, now: datetime) -> datetime:
    """The end of a preset snooze, in UTC."""
    today = now.astimezone(zone).date()
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "tomorrow":
        return _at_morning(today + timedelta(days=1), zone)
    if preset == "next_week":
        return _at_morning(today + timedelta(days=7 - today.weekday()), zone)
    raise InvalidInput("unknown snooze preset")


def picked_until(raw: str, zone: tzinfo, now: datetime) -> datetime:
    """A `datetime-local` value, read in the operator's zone; never in the past."""
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("give a valid date and time to snooze until") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    until = local.astimezone(UTC)
    if until <= now:
        raise InvalidInput("snooze until a time in the future")
    return until
