"""Snooze presets and picked times, read in the operator's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.errors import InvalidInput
from hub.web.inbox.snooze import operator_zone, picked_until, preset_until

BERLIN = ZoneInfo("Europe/Berlin")


def test_tomorrow_and_next_week_are_nine_in_the_morning_where_the_operator_is() -> None:
    friday_evening = datetime(2026, 3, 27, 22, 30, tzinfo=BERLIN).astimezone(UTC)
    # Saturday 9:00 in Berlin: still winter time (UTC+1).
    assert preset_until("tomorrow", BERLIN, friday_evening) == datetime(
        2026, 3, 28, 8, 0, tzinfo=UTC
    )
    # Monday 9:00 after the clocks went forward on Sunday (UTC+2).
    assert preset_until("next_week", BERLIN, friday_evening) == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )
    monday = datetime(2026, 3, 30, 8, 0, tzinfo=BERLIN).astimezone(UTC)
    assert preset_until("next_week", BERLIN, monday) == datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
    assert preset_until("1h", BERLIN, monday) == monday + timedelta(hours=1)
    with pytest.raises(InvalidInput):
        preset_until("someday", BERLIN, monday)


def test_the_zone_falls_back_to_the_offset_then_to_utc() -> None:
    assert operator_zone("Europe/Berlin", "0") == BERLIN
    west = operator_zone("Not/AZone", "300")  # getTimezoneOffset() of UTC-5
    assert datetime(2026, 1, 1, tzinfo=west).utcoffset() == timedelta(hours=-5)
    assert datetime(2026, 1, 1, tzinfo=operator_zone("", "oops")).utcoffset() == timedelta(0)
    assert datetime(2026, 1, 1, tzinfo=operator_zone("../etc", "99999")).utcoffset() == timedelta(0)


def test_a_picked_time_is_local_and_never_in_the_past() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert picked_until("2026-06-02T09:00", BERLIN, now) == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="future"):
        picked_until("2026-06-01T13:59", BERLIN, now)  # 11:59 UTC
    with pytest.raises(InvalidInput, match="valid"):
        picked_until("tomorrow-ish", BERLIN, now)
