"""The reports page's tables as CSV: one table (`?format=csv&table=NAME`) or all of them,
each under a row naming it.

Cells are quoted by the csv module (RFC 4180: commas, quotes, line breaks), and a text
cell that a spreadsheet would run as a formula (starting with = + - @, or a tab or a
carriage return) gets a leading apostrophe: an operator's name is typed by people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from hub.errors import InvalidInput
from hub.queries.reports import CHANNELS, Report
from hub.queries.satisfaction import SCORES

Cell = str | int | float | None
Table = list[list[Cell]]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _share(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _volume(report: Report) -> Table:
    rows: Table = [["day", *CHANNELS, "total"]]
    for day in report.period.day_list:
        counts = [report.volume.get((day, ch), 0) for ch in CHANNELS]
        rows.append([day.isoformat(), *counts, sum(counts)])
    return rows


def _times(report: Report) -> Table:
    rows: Table = [["metric", "conversations", "median_seconds", "p90_seconds"]]
    for name, s in (("first_response", report.first_response), ("resolution", report.resolution)):
        rows.append([name, s.count, s.median, s.p90])
    return rows


def _bot(report: Report) -> Table:
    return [
        ["conversations", "bot_no_handoff", "share_percent"],
        [report.bot.conversations, report.bot.bot_only, _share(report.bot.share)],
    ]


def _operators(report: Report) -> Table:
    rows: Table = [["operator", "replies", "resolved", "first_response_median_seconds"]]
    for o in report.operators:
        rows.append([o.name, o.replies, o.resolved, o.first_response.median])
    return rows


def _csat(report: Report) -> Table:
    c = report.csat
    return [
        ["asked", "responses", "average", "satisfied_percent", *[f"rated_{n}" for n in SCORES]],
        [report.csat_asked, c.responses, c.average, _share(c.satisfied_share), *c.by_score],
    ]


def _csat_operators(report: Report) -> Table:
    rows: Table = [["operator", "responses", "average", "satisfied_percent"]]
    for o in report.csat_operators:
        f = o.figures
        rows.append([o.name, f.responses, f.average, _share(f.satisfied_share)])
    return rows


TABLES: dict[str, Callable[[Report], Table]] = {
    "volume": _volume,
    "times": _times,
    "bot": _bot,
    "operators": _operators,
    "csat": _csat,
    "csat_operators": _csat_operators,
}


def write_rows(rows: Sequence[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def report_csv(report: Report, table: str | None) -> str:
    """One table, or every table (each after a `# name` row and a blank line between)."""
    if table:
        if table not in TABLES:
            raise InvalidInput(f"unknown report table {table[:40]!r}")
        return write_rows(TABLES[table](report))
    parts = [write_rows([[f"# {name}"], *make(report)]) for name, make in TABLES.items()]
    return "\r\n".join(parts)
