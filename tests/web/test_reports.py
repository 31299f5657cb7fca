"""Inbox reports: exact figures over known data (both backends), and the page behind a session."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest

from hub.errors import InvalidInput
from hub.models import Conversation, ConversationResolution, Customer, Message, Operator
from hub.queries.reports import Period, Report, build_report, check_period, percentile
from hub.runtime.services import Hub
from hub.web.inbox.reports import ReportCache
from tests.support import RunningHub
from tests.support.api import Api, Browser

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Seeded:
    anna: int
    boris: int


class Seeder:
    """Writes conversations with messages at given times, straight into the database."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def operator(self, name: str) -> int:
        async with self.hub.db.session() as session:
            row = Operator(email=f"{name.lower()}@reports.test", name=name, role="agent")
            session.add(row)
            await session.commit()
            assert row.id is not None
            return row.id

    async def conversation(
        self,
        channel: str,
        created: datetime,
        messages: list[tuple[str, datetime, int | None]],
        *,
        bot_active: bool = True,
        resolutions: tuple[tuple[datetime, int | None], ...] = (),
    ) -> int:
        """`messages` are (who, when, operator): who is customer, bot, operator, note, system."""
        async with self.hub.db.session() as session:
            customer = Customer(name="Reports customer", created_at=created)
            session.add(customer)
            await session.flush()
            conversation = Conversation(
                customer_id=customer.id,  # type: ignore[arg-type]
                channel=channel,
                bot_active=bot_active,
                status="resolved" if resolutions else "open",
                created_at=created,
                last_message_at=created,
            )
            session.add(conversation)
            await session.flush()
            for who, when, operator_id in messages:
                inbound = who == "customer"
                session.add(
                    Message(
                        conversation_id=conversation.id,  # type: ignore[arg-type]
                        customer_id=customer.id,  # type: ignore[arg-type]
                        direction="inbound" if inbound else "outbound",
                        sender_type="operator" if who == "note" else who,
                        operator_id=operator_id,
                        channel=channel,
                        text=f"{who} at {when.isoformat()}",
                        private=who == "note",
                        status="received" if inbound else "sent",
                        created_at=when,
                    )
                )
                await session.flush()  # ids follow the order given
            for when, operator_id in resolutions:
                session.add(
                    ConversationResolution(
                        conversation_id=conversation.id,  # type: ignore[arg-type]
                        operator_id=operator_id,
                        resolved_at=when,
                    )
                )
            await session.commit()
            assert conversation.id is not None
            return conversation.id


async def seed_week(hub: Hub) -> Seeded:
    s = Seeder(hub)
    anna, boris = await s.operator("Anna"), await s.operator("Boris")
    # C1: bot answers, Anna replies after 60 s, resolves after 1 h; Boris re-resolves later.
    await s.conversation(
        "telegram",
        at(5, 10),
        [
            ("customer", at(5, 10), None),
            ("bot", at(5, 10, 0, 5), None),
            ("operator", at(5, 10, 1), anna),
        ],
        resolutions=((at(5, 11), anna), (at(9, 8), boris)),
    )
    # C2: Anna after 180 s; Boris resolves after 4 h.
    await s.conversation(
        "sms",
        at(6, 9),
        [("customer", at(6, 9), None), ("operator", at(6, 9, 3), anna)],
        resolutions=((at(6, 13), boris),),
    )
    # C3: a private note first (not a reply), Boris replies after 600 s.
    await s.conversation(
        "telegram",
        at(7, 8),
        [
            ("customer", at(7, 8), None),
            ("note", at(7, 8, 1), boris),
            ("operator", at(7, 8, 10), boris),
        ],
        bot_active=False,
    )
    # C4: the bot alone answers: the one bot-only conversation.
    await s.conversation(
        "webchat", at(8, 12), [("customer", at(8, 12), None), ("bot", at(8, 12, 0, 1), None)]
    )
    # C5: the bot answered, then handed off (bot_active false), nobody replied yet.
    await s.conversation(
        "telegram",
        at(8, 13),
        [("customer", at(8, 13), None), ("bot", at(8, 13, 0, 1), None)],
        bot_active=False,
    )
    # C6: created before the period; Anna's reply and the resolution fall inside it.
    await s.conversation(
        "telegram",
        at(1, 0),
        [("customer", at(1, 0), None), ("operator", at(5, 0), anna)],
        resolutions=((at(9, 0), anna),),
    )
    # C7: Anna first after 1200 s, then the customer again and Boris (not a first reply).
    await s.conversation(
        "email",
        at(9, 10),
        [
            ("customer", at(9, 10), None),
            ("operator", at(9, 10, 20), anna),
            ("customer", at(9, 10, 30), None),
            ("operator", at(9, 10, 40), boris),
        ],
        bot_active=False,
    )
    # C8: an order notification only: no customer message, so no conversation to count.
    await s.conversation("telegram", at(9, 11), [("system", at(9, 11), None)])
    # C9: today, waiting.
    await s.conversation("telegram", at(10, 5), [("customer", at(10, 5), None)])
    return Seeded(anna, boris)


def test_percentiles_interpolate_between_closest_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([60, 180, 600, 1200], 0.5) == 390
    assert percentile([60, 180, 600, 1200], 0.9) == pytest.approx(1020)


def test_a_period_is_7_30_or_90_utc_days_ending_today() -> None:
    period = check_period("7", None, NOW)
    assert (period.since, period.until) == (at(4, 0), at(11, 0))
    assert period.day_list[0] == date(2026, 3, 4) and period.day_list[-1] == date(2026, 3, 10)
    assert check_period(None, "", NOW).days == 30
    assert check_period("90", "sms", NOW).channel == "sms"
    for days, channel in (("8", None), ("x", None), ("-7", None), ("7", "fax")):
        with pytest.raises(InvalidInput):
            check_period(days, channel, NOW)


async def test_the_week_report_has_exact_times_shares_and_operator_figures(
    hub: RunningHub,
) -> None:
    seeded = await seed_week(hub.hub)
    async with hub.hub.db.session() as session:
        report = await build_report(session, check_period("7", None, NOW))

    assert report.volume == {
        (date(2026, 3, 5), "telegram"): 4,
        (date(2026, 3, 6), "sms"): 2,
        (date(2026, 3, 7), "telegram"): 2,  # the private note is no message to a customer
        (date(2026, 3, 8), "webchat"): 2,
        (date(2026, 3, 8), "telegram"): 2,
        (date(2026, 3, 9), "email"): 4,
        (date(2026, 3, 9), "telegram"): 1,
        (date(2026, 3, 10), "telegram"): 1,
    }
    assert report.day_total(date(2026, 3, 8)) == 4 and report.channel_total("telegram") == 10

    fr = report.first_response
    assert (fr.count, fr.median, fr.p90) == (4, 390, pytest.approx(1020))
    res = report.resolution
    assert (res.count, res.median, res.p90) == (3, 14400, pytest.approx(555840))

    assert (report.bot.conversations, report.bot.bot_only) == (7, 1)
    assert report.bot.share == pytest.approx(1 / 7)

    by_name = {o.name: o for o in report.operators}
    assert list(by_name) == ["Anna", "Boris"]
    anna, boris = by_name["Anna"], by_name["Boris"]
    assert (anna.operator_id, anna.replies, anna.resolved) == (seeded.anna, 4, 2)
    assert (anna.first_response.count, anna.first_response.median) == (3, 180)
    assert (boris.operator_id, boris.replies, boris.resolved) == (seeded.boris, 2, 1)
    assert (boris.first_response.count, boris.first_response.median) == (1, 600)


async def test_a_channel_narrows_every_figure(hub: RunningHub) -> None:
    await seed_week(hub.hub)
    async with hub.hub.db.session() as session:
        report = await build_report(session, check_period("7", "telegram", NOW))

    assert {ch for _, ch in report.volume} == {"telegram"}
    assert sum(report.volume.values()) == 10
    fr = report.first_response
    assert (fr.count, fr.median, fr.p90) == (2, 330, pytest.approx(546))
    assert (report.resolution.count, report.resolution.median) == (2, (3600 + 691200) / 2)
    assert (report.bot.conversations, report.bot.bot_only) == (4, 0)
    assert {o.name: (o.replies, o.resolved) for o in report.operators} == {
        "Anna": (2, 2),
        "Boris": (1, 0),
    }


async def test_an_empty_period_reports_nothing_without_failing(hub: RunningHub) -> None:
    async with hub.hub.db.session() as session:
        report = await build_report(session, Period(7, at(4, 0), at(11, 0)))
    assert report.volume == {} and report.operators == []
    assert (report.first_response.median, report.resolution.p90, report.bot.share) == (
        None,
        None,
        None,
    )


async def test_the_reports_page_needs_a_session(hub: RunningHub) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, _, response = await Browser(hub, http).get("/inbox/reports?days=7")
    assert status == 303
    assert response.headers["Location"].startswith("/inbox/login?next=")


async def test_the_reports_page_shows_charts_with_their_numbers(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=10)
    s = Seeder(hub.hub)
    await s.conversation(
        "whatsapp",
        start,
        [("customer", start, None), ("operator", start + timedelta(seconds=125), api.operator_id)],
        resolutions=((start + timedelta(minutes=5), api.operator_id),),
    )

    status, html, _ = await agent.get("/inbox/reports?days=7&channel=whatsapp")
    assert status == 200, html[:300]
    assert "style=" not in html and "<script>" not in html  # the CSP allows neither
    assert 'href="/inbox/reports"' in html  # the header links here
    for chart in ("volume", "times", "bot", "operators"):
        assert re.search(rf'<svg[^>]*role="img"[^>]*data-chart="{chart}"', html), chart
        assert f'id="{chart}-title"' in html
    assert '<td data-channel-total="whatsapp">2</td>' in html
    day = re.search(rf'<tr data-day="{start.date().isoformat()}">(.*?)</tr>', html, re.S)
    assert day and '<td data-channel="whatsapp">' in day.group(1)
    first = re.search(r'<tr data-row="first_response">(.*?)</tr>', html, re.S)
    assert first and 'data-seconds="125.0">2 min 05 s<' in first.group(1)
    resolved = re.search(r'<tr data-row="resolution">(.*?)</tr>', html, re.S)
    assert resolved and 'data-seconds="300.0">5 min 00 s<' in resolved.group(1)
    operator = re.search(rf'<tr data-operator="{api.operator_id}">(.*?)</tr>', html, re.S)
    assert operator and "<td data-replies>1</td><td data-resolved>1</td>" in operator.group(1)
    assert '<option value="7" selected>' in html

    status, html, _ = await agent.get("/inbox/reports?days=12")
    assert status == 422 and "period must be 7, 30 or 90 days" in html


def test_a_report_is_reused_for_a_minute_then_made_again() -> None:
    clock = [1000.0]
    cache = ReportCache(ttl=60, clock=lambda: clock[0])
    period = check_period("7", None, NOW)
    report = Report(period)
    key = (7, None, period.since)
    assert cache.get(key) is None
    cache.put(key, report)
    clock[0] += 59.9
    assert cache.get(key) is report and cache.get((30, None, period.since)) is None
    clock[0] += 0.2
    assert cache.get(key) is None
