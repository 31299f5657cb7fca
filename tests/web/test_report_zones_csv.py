"""Reports in the operator's time zone (DST-correct), CSAT figures, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from hub.errors import InvalidInput
from hub.models import ConversationResolution, CsatRating
from hub.models.base import utcnow
from hub.queries.reports import build_report, check_period
from hub.runtime.services import Hub
from hub.web.inbox.report_csv import safe_cell, write_rows
from tests.support import RunningHub
from tests.support.api import Api, Browser
from tests.web.test_reports import NOW, Seeder, at


def test_days_are_local_midnights_and_follow_daylight_saving() -> None:
    moscow = check_period("7", None, NOW, "Europe/Moscow")
    assert moscow.since == datetime(2026, 3, 3, 21, 0, tzinfo=UTC)  # 03-04 00:00 +03
    assert moscow.until == datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    assert moscow.day_list[0] == date(2026, 3, 4) and moscow.day_list[-1] == date(2026, 3, 10)
    # New York moves to EDT on 2026-03-08: the period starts at -05:00 and ends at -04:00.
    new_york = check_period("7", None, NOW, "America/New_York")
    assert new_york.since == datetime(2026, 3, 4, 5, 0, tzinfo=UTC)
    assert new_york.until == datetime(2026, 3, 11, 4, 0, tzinfo=UTC)
    assert check_period("7", None, NOW).zone == "UTC"
    for bad in ("Mars/Olympus", "../etc/passwd", "Europe/Moscow\x00"):
        with pytest.raises(InvalidInput):
            check_period("7", None, NOW, bad)


async def test_a_message_at_2330_utc_counts_on_the_next_day_in_moscow(hub: RunningHub) -> None:
    s = Seeder(hub.hub)
    await s.conversation("sms", at(9, 23, 30), [("customer", at(9, 23, 30), None)])
    # 04:30 UTC on 03-08 is 23:30 EST on 03-07; 03:30 UTC on 03-09 is 23:30 EDT on 03-08.
    await s.conversation("telegram", at(8, 4, 30), [("customer", at(8, 4, 30), None)])
    await s.conversation("telegram", at(9, 3, 30), [("customer", at(9, 3, 30), None)])
    async with hub.hub.db.session() as session:
        utc = await build_report(session, check_period("7", None, NOW))
        moscow = await build_report(session, check_period("7", None, NOW, "Europe/Moscow"))
        new_york = await build_report(session, check_period("7", None, NOW, "America/New_York"))
    assert utc.volume[(date(2026, 3, 9), "sms")] == 1
    assert moscow.volume[(date(2026, 3, 10), "sms")] == 1
    assert (date(2026, 3, 9), "sms") not in moscow.volume
    assert new_york.volume[(date(2026, 3, 7), "telegram")] == 1
    assert new_york.volume[(date(2026, 3, 8), "telegram")] == 1
    assert new_york.volume[(date(2026, 3, 9), "sms")] == 1  # 18:30 EDT


async def test_a_half_hour_zone_splits_days_at_its_own_midnight(hub: RunningHub) -> None:
    s = Seeder(hub.hub)
    # India is +05:30: 18:29 UTC is 23:59 on the same day, 18:30 UTC is the next midnight.
    await s.conversation("sms", at(8, 18, 29), [("customer", at(8, 18, 29), None)])
    await s.conversation("sms", at(8, 18, 30), [("customer", at(8, 18, 30), None)])
    async with hub.hub.db.session() as session:
        india = await build_report(session, check_period("7", None, NOW, "Asia/Kolkata"))
    assert india.volume[(date(2026, 3, 8), "sms")] == 1
    assert india.volume[(date(2026, 3, 9), "sms")] == 1
    assert check_period("7", None, NOW, "Etc/UTC").zone == "UTC"  # what browsers may say


async def _rate(
    hub: Hub, conversation_id: int, operator_id: int | None, rating: int | None, when: datetime
) -> None:
    async with hub.db.session() as session:
        resolution = ConversationResolution(
            conversation_id=conversation_id, operator_id=operator_id, resolved_at=when
        )
        session.add(resolution)
        await session.flush()
        assert resolution.id is not None
        session.add(
            CsatRating(
                conversation_id=conversation_id,
                customer_id=1,
                resolution_id=resolution.id,
                operator_id=operator_id,
                channel="sms",
                rating=rating,
                asked_at=when,
                answered_at=when if rating else None,
                expires_at=when,
            )
        )
        await session.commit()


async def test_csat_figures_count_answers_in_the_period_per_operator(hub: RunningHub) -> None:
    s = Seeder(hub.hub)
    anna, boris = await s.operator("Anna"), await s.operator("Boris")
    ratings = [(anna, 5), (anna, 4), (anna, 2), (boris, 3), (boris, None), (None, 5)]
    for operator_id, rating in ratings:
        cid = await s.conversation("sms", at(8, 10), [("customer", at(8, 10), None)])
        await _rate(hub.hub, cid, operator_id, rating, at(8, 12))
    old = await s.conversation("sms", at(1, 10), [("customer", at(1, 10), None)])
    await _rate(hub.hub, old, anna, 1, at(1, 12))  # before the period
    async with hub.hub.db.session() as session:
        report = await build_report(session, check_period("7", None, NOW))
        by_email = await build_report(session, check_period("7", "email", NOW))
    assert report.csat_asked == 6 and report.csat.responses == 5
    assert report.csat.average == pytest.approx(19 / 5)
    assert report.csat.satisfied_share == pytest.approx(3 / 5)
    assert report.csat.by_score == (0, 1, 1, 1, 2)
    assert report.csat_response_rate == pytest.approx(5 / 6)
    [a, b] = report.csat_operators
    assert (a.name, a.figures.responses, a.figures.average) == ("Anna", 3, pytest.approx(11 / 3))
    assert (b.name, b.figures.responses, b.figures.satisfied_share) == ("Boris", 1, 0.0)
    assert by_email.csat.responses == 0 and by_email.csat.average is None


def test_csv_cells_are_quoted_and_never_run_as_formulas() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert [safe_cell(v) for v in ("+1", "-2", "@x", "\tx", "ok", None, 7, 2.5, 0.125)] == [
        "'+1",
        "'-2",
        "'@x",
        "'\tx",
        "ok",
        "",
        "7",
        "2.5",
        "0.125",
    ]
    text = write_rows([["name", "n"], ['Lee, "Ann"\nB', 3]])
    assert text == 'name,n\r\n"Lee, ""Ann""\nB",3\r\n'


async def test_the_page_exports_csv_in_the_chosen_zone(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    s = Seeder(hub.hub)
    hacker = await s.operator('=HYPERLINK("http://evil.test","x")')
    now = utcnow()
    await s.conversation(
        "sms", now, [("customer", now, None), ("operator", now, hacker)], resolutions=()
    )
    rated = await s.conversation("sms", now, [("customer", now, None)])
    await _rate(hub.hub, rated, hacker, 4, now)
    status, body, response = await agent.get(
        "/inbox/reports?days=7&format=csv&table=operators&tz=Europe/Moscow"
    )
    assert status == 200 and response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="report-')
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["operator", "replies", "resolved", "first_response_median_seconds"]
    assert rows[1][0] == '\'=HYPERLINK("http://evil.test","x")' and rows[1][1] == "1"

    status, body, _ = await agent.get("/inbox/reports?days=7&format=csv&tz=Europe/Moscow")
    sections = [r[0] for r in csv.reader(io.StringIO(body)) if r and r[0].startswith("# ")]
    assert sections == ["# volume", "# times", "# bot", "# operators", "# csat", "# csat_operators"]
    assert (await agent.get("/inbox/reports?format=csv&table=nope"))[0] == 422

    status, html, _ = await agent.get("/inbox/reports?days=7&tz=Europe/Moscow")
    assert status == 200 and 'data-zone="Europe/Moscow"' in html
    assert "tz=Europe%2FMoscow&amp;format=csv" in html and 'data-chart="csat"' in html
    assert "<td data-responses>1</td>" in html and "<td data-average>4.00</td>" in html
    status, body, _ = await agent.get("/inbox/reports?days=7&format=csv&table=csat_operators")
    assert list(csv.reader(io.StringIO(body)))[1] == [
        '\'=HYPERLINK("http://evil.test","x")',
        "1",
        "4",
        "100",
    ]
    assert (await agent.get("/inbox/reports?tz=Nowhere/Land"))[0] == 422
    # The browser's zone, remembered in a cookie, is used when the URL names none.
    agent.http.cookie_jar.update_cookies({"hub_tz": "Asia/Tokyo"}, response.url)
    _, html, _ = await agent.get("/inbox/reports")
    assert 'data-zone="Asia/Tokyo"' in html
