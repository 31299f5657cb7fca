"""The reports page: server-rendered SVG charts (the CSP allows no inline script or style),
each with its numbers in a table beside it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from hub.models.base import utcnow
from hub.queries import reports
from hub.queries.reports import CHANNELS, PERIODS, Report
from hub.queries.satisfaction import SCORES
from hub.queries.sla import sla_report
from hub.web.inbox.common import hub_of, page, render
from hub.web.inbox.report_csv import report_csv
from hub.web.sessions import SignedIn

# Chart geometry, in SVG user units (the viewBox scales to the page width).
WIDTH = 720
PLOT_LEFT = 48
PLOT_TOP = 10
PLOT_HEIGHT = 180
BAR_ROW = 26
LABEL_WIDTH = 150
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class HBar:
    """One labelled horizontal bar: the label left, the value's text after the bar."""

    y: float
    label: str
    rect: Rect
    text: str


def duration(seconds: float | None) -> str:
    """A duration as an operator reads it: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s" if s < 600 else f"{round(s / 60)} min"
    if s < 86_400:
        return f"{s // 3600} h {(s % 3600) // 60:02d} min"
    return f"{s // 86_400} d {(s % 86_400) // 3600} h"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def _nice_max(value: int) -> int:
    """The y axis top: the smallest 1/2/5 × 10^k at or above the largest bar."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def volume_chart(report: Report) -> dict[str, object]:
    """Stacked bars per UTC day, one segment per channel."""
    days = report.period.day_list
    top = _nice_max(max((report.day_total(d) for d in days), default=0))
    plot_width = WIDTH - PLOT_LEFT - 8
    slot = plot_width / len(days)
    scale = PLOT_HEIGHT / top
    rects: list[Rect] = []
    for i, day in enumerate(days):
        y = float(PLOT_TOP + PLOT_HEIGHT)
        for channel in CHANNELS:
            n = report.volume.get((day, channel), 0)
            if not n:
                continue
            height = n * scale
            y -= height
            rects.append(
                Rect(
                    round(PLOT_LEFT + i * slot + slot * 0.1, 2),
                    round(y, 2),
                    round(slot * 0.8, 2),
                    round(height, 2),
                    f"seg ch-{channel}",
                    f"{day.isoformat()} · {channel}: {n}",
                )
            )
    every = {7: 1, 30: 5, 90: 15}.get(len(days), 1)
    x_ticks = [
        Tick(
            round(PLOT_LEFT + i * slot + slot / 2, 2),
            PLOT_TOP + PLOT_HEIGHT + 14,
            d.strftime("%m-%d"),
        )
        for i, d in enumerate(days)
        if i % every == 0
    ]
    y_ticks = [
        Tick(PLOT_LEFT - 6, round(PLOT_TOP + PLOT_HEIGHT - v * scale + 4, 2), str(v))
        for v in (0, top // 2, top)
    ]
    return {
        "rects": rects,
        "x_ticks": x_ticks,
        "y_ticks": y_ticks,
        "height": PLOT_TOP + PLOT_HEIGHT + 22,
        "axis_y": PLOT_TOP + PLOT_HEIGHT,
    }


def hbars(items: list[tuple[str, float, str, str]]) -> dict[str, object]:
    """Horizontal bars for (label, value, shown text, css class), scaled to the largest."""
    largest = max((v for _, v, _, _ in items), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 120
    bars = []
    for i, (label, value, text, css) in enumerate(items):
        y = 4 + i * BAR_ROW
        width = round(max(value, 0) / largest * room, 2)
        bars.append(
            HBar(y + 13, label, Rect(LABEL_WIDTH, y, width, 18, css, f"{label}: {text}"), text)
        )
    return {"bars": bars, "height": 8 + len(items) * BAR_ROW, "label_x": LABEL_WIDTH - 6}


def charts(report: Report, gettext: dict[str, str]) -> dict[str, object]:
    fr, res = report.first_response, report.resolution
    share = report.bot.share or 0.0
    return {
        "volume": volume_chart(report),
        "times": hbars(
            [
                (gettext["first_median"], fr.median or 0, duration(fr.median), "bar first"),
                (gettext["first_p90"], fr.p90 or 0, duration(fr.p90), "bar first p90"),
                (gettext["res_median"], res.median or 0, duration(res.median), "bar resolve"),
                (gettext["res_p90"], res.p90 or 0, duration(res.p90), "bar resolve p90"),
            ]
        ),
        "bot": hbars(
            [
                (gettext["bot"], share, percent(report.bot.share), "bar bot"),
                (
                    gettext["human"],
                    1 - share if report.bot.conversations else 0,
                    percent(None if report.bot.share is None else 1 - share),
                    "bar human",
                ),
            ]
        ),
        "operators": hbars(
            [(o.name, o.replies, str(o.replies), "bar replies") for o in report.operators]
        ),
        "csat": hbars(
            [
                (f"{score} ★", n, str(n), f"bar csat s{score}")
                for score, n in reversed(list(zip(SCORES, report.csat.by_score, strict=True)))
            ]
        ),
    }


class ReportCache:
    """A report reads about a third of the messages of 90 days (1M messages: a second or
    so): each period and channel is computed at most once a minute per process."""

    def __init__(self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[tuple[object, ...], tuple[float, Report]] = {}

    def get(self, key: tuple[object, ...]) -> Report | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    def put(self, key: tuple[object, ...], report: Report) -> None:
        now = self.clock()
        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        self._entries[key] = (now + self.ttl, report)


CACHE = web.AppKey("inbox_report_cache", ReportCache)


# The browser's time zone (Intl), remembered by inbox.js for when the URL names none.
ZONE_COOKIE = "hub_tz"


def requested_zone(request: web.Request) -> str:
    """`?tz=` when given (refused if unknown), else the browser's remembered zone (ignored
    if unknown: a cookie is no request), else UTC."""
    asked = request.query.get("tz")
    if asked:
        return reports.check_zone(asked)
    remembered = request.cookies.get(ZONE_COOKIE, "")
    return reports.check_zone(remembered) if remembered in reports.ZONES else "UTC"


@page
async def reports_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    period = reports.check_period(
        request.query.get("days"), request.query.get("channel"), zone=requested_zone(request)
    )
    cache = request.app.get(CACHE)
    key = (period.days, period.channel, period.since, period.zone)
    report = cache.get(key) if cache is not None else None
    if report is None:
        async with hub_of(request).db.session() as session:
            report = await reports.build_report(session, period)
        if cache is not None:
            cache.put(key, report)
    if request.query.get("format") == "csv":
        table = request.query.get("table") or None
        body = report_csv(report, table)
        name = f"report-{table or 'all'}-{period.days}d-{period.day_list[-1].isoformat()}.csv"
        return web.Response(
            text=body,
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
    async with hub_of(request).db.session() as session:  # SLA figures: hub.queries.sla
        sla = await sla_report(session, period.since, period.until, utcnow())
    return await render(
        request,
        "inbox/reports.html",
        me=me,
        report=report,
        periods=PERIODS,
        channels=CHANNELS,
        duration=duration,
        percent=percent,
        # The template passes its translated labels in: `charts({"bot": _("..."), ...})`.
        charts=lambda labels: charts(report, labels),
        sla=sla,
        zones=sorted(reports.ZONES),
        csv_url=lambda table=None: csv_link(period, table),
    )


def csv_link(period: reports.Period, table: str | None) -> str:
    query = {"days": str(period.days), "tz": period.zone, "format": "csv"}
    if period.channel:
        query["channel"] = period.channel
    if table:
        query["table"] = table
    return "/inbox/reports?" + urlencode(query)
