"""Inbox reports over a period: message volume, first response and resolution times, the
bot's share, and per-operator figures.

Everything is aggregated in SQL that runs on SQLite and PostgreSQL alike (no per-message
rows reach Python); medians and p90 are computed here over per-conversation values. Days
are the operator's days (an IANA time zone, UTC by default, DST-correct through zoneinfo);
the period is today and the `days - 1` days before it, from local midnight to midnight.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import ColumnElement, Integer, and_, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from hub.domain.types import Channel, Direction, SenderType
from hub.errors import InvalidInput
from hub.models import Conversation, ConversationResolution, Message, Operator
from hub.models.base import utcnow
from hub.queries.satisfaction import OperatorSatisfaction, Satisfaction, satisfaction

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
CHANNELS = tuple(c.value for c in Channel)


ZONES = frozenset(available_timezones()) | {"UTC"}
# Messages are counted per quarter hour in SQL, then each quarter goes to its local day
# here: every time zone's offset (and DST change) is a whole number of quarter hours, and
# SQLite has no time zone rules to do it in the database.
BUCKET_SECONDS = 900


@dataclass(frozen=True)
class Period:
    days: int
    since: datetime
    until: datetime
    channel: str | None = None
    zone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    @property
    def day_list(self) -> list[date]:
        first = self.local_day(self.since)
        return [first + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class Spread:
    """Durations in seconds over conversations: how many, the median and the 90th percentile."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(len(values), percentile(values, 0.5), percentile(values, 0.9))


@dataclass(frozen=True)
class BotShare:
    """Conversations with a customer message, and those the bot answered with no human."""

    conversations: int
    bot_only: int

    @property
    def share(self) -> float | None:
        return self.bot_only / self.conversations if self.conversations else None


@dataclass(frozen=True)
class OperatorFigures:
    operator_id: int
    name: str
    replies: int
    resolved: int
    first_response: Spread


@dataclass
class Report:
    period: Period
    made_at: datetime = field(default_factory=utcnow)
    # (UTC day, channel) → messages; private notes are not messages to a customer.
    volume: dict[tuple[date, str], int] = field(default_factory=dict)
    first_response: Spread = Spread(0, None, None)
    resolution: Spread = Spread(0, None, None)
    bot: BotShare = BotShare(0, 0)
    operators: list[OperatorFigures] = field(default_factory=list)
    # CSAT: answers given in the period, and questions asked in it.
    csat: Satisfaction = field(default_factory=Satisfaction)
    csat_asked: int = 0
    csat_operators: list[OperatorSatisfaction] = field(default_factory=list)

    @property
    def csat_response_rate(self) -> float | None:
        return self.csat.responses / self.csat_asked if self.csat_asked else None

    def day_total(self, day: date) -> int:
        return sum(self.volume.get((day, ch), 0) for ch in CHANNELS)

    def channel_total(self, channel: str) -> int:
        return sum(n for (_, ch), n in self.volume.items() if ch == channel)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, `inclusive`)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


_UTC_ALIAS = re.compile(r"(?:Etc/)?(?:UTC|UCT|GMT[+-]?0?|Universal|Zulu|Greenwich)")


def check_zone(zone: str | None) -> str:
    """An IANA time zone name (`Europe/Moscow`); none given is UTC, an unknown one refused.
    UTC's aliases (`Etc/UTC`, what many browsers report) are UTC itself: one cache entry."""
    if not zone or _UTC_ALIAS.fullmatch(zone):
        return "UTC"
    if zone not in ZONES:
        raise InvalidInput(f"unknown time zone {zone[:64]!r}")
    return zone


def check_period(
    days: str | None,
    channel: str | None,
    now: datetime | None = None,
    zone: str | None = None,
) -> Period:
    """The period a request asks for; anything but 7/30/90 days, a known channel and a
    known time zone is refused. Its bounds are local midnights, as UTC instants."""
    try:
        count = int(days) if days else DEFAULT_DAYS
    except ValueError:
        count = -1
    if count not in PERIODS:
        raise InvalidInput("period must be 7, 30 or 90 days")
    if channel and channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}")
    name = check_zone(zone)
    tz = ZoneInfo(name)
    today = (now or utcnow()).astimezone(tz).date()

    def midnight(day: date) -> datetime:
        # A local midnight that DST skips resolves forward (fold=0), as wall clocks do.
        return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)

    return Period(
        count,
        midnight(today - timedelta(days=count - 1)),
        midnight(today + timedelta(days=1)),
        channel or None,
        name,
    )


def _bucket(column: Any, dialect: str) -> ColumnElement[Any]:
    """The quarter hour of a timestamp, as a count since the epoch (SQLite stores naive UTC
    text; PostgreSQL timestamptz)."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer) / BUCKET_SECONDS
    return func.floor(func.extract("epoch", column) / BUCKET_SECONDS)


def _in(period: Period, column: Any) -> ColumnElement[bool]:
    return and_(column >= period.since, column < period.until)


async def _volume(session: AsyncSession, period: Period) -> dict[tuple[date, str], int]:
    bucket = _bucket(col(Message.created_at), session.get_bind().dialect.name).label("bucket")
    query = (
        select(bucket, col(Message.channel), func.count())
        .where(_in(period, col(Message.created_at)), col(Message.private).is_(False))
        .group_by(bucket, col(Message.channel))
    )
    if period.channel:
        query = query.where(col(Message.channel) == period.channel)
    volume: dict[tuple[date, str], int] = defaultdict(int)
    for quarter, channel, n in await session.execute(query):
        moment = datetime.fromtimestamp(int(quarter) * BUCKET_SECONDS, UTC)
        volume[(period.local_day(moment), channel)] += int(n)
    return dict(volume)


def _conversations_in(period: Period) -> list[ColumnElement[bool]]:
    where = [_in(period, col(Conversation.created_at))]
    if period.channel:
        where.append(col(Conversation.channel) == period.channel)
    return where


def _seconds(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """`later - earlier` in seconds, computed by the database (parsing 30,000 timestamps
    into Python datetimes would cost more than the query)."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86_400.0
    return func.extract("epoch", later - earlier)


def _ms(seconds: Any) -> float:
    """To the millisecond: SQLite's julianday arithmetic is exact to about 40 µs only."""
    return round(float(seconds), 3)


def _public_operator(m: Any) -> ColumnElement[bool]:
    return and_(
        m.sender_type == SenderType.OPERATOR,
        m.direction == Direction.OUTBOUND,
        m.private.is_(False),
    )


@dataclass(frozen=True)
class _Facts:
    conversations: int
    bot_only: int
    first_replies: list[tuple[int | None, float]]


async def _conversation_facts(session: AsyncSession, period: Period) -> _Facts:
    """Per conversation created in the period: its customer's first message, the first
    operator reply after it (who, how long), and whether the bot answered.

    Each look-up is a correlated `ORDER BY id LIMIT 1` on ix_messages_conversation, which
    stops at the first hit: a few index probes per conversation instead of reading and
    grouping every message of the period.
    """
    dialect = session.get_bind().dialect.name
    # Aliases of one table, typed loosely: SQLModel types their columns as Python values.
    m: Any = aliased(Message)
    bot: Any = aliased(Message)
    reply: Any = aliased(Message)
    first_in = (
        select(m.id)
        .where(
            m.conversation_id == col(Conversation.id),
            m.direction == Direction.INBOUND,
            m.sender_type == SenderType.CUSTOMER,
        )
        .order_by(m.id)
        .limit(1)
        .scalar_subquery()
    )
    answered_by_bot = exists().where(
        bot.conversation_id == col(Conversation.id),
        bot.sender_type == SenderType.BOT,
        bot.private.is_(False),
    )
    facts = (
        select(
            col(Conversation.id).label("cid"),
            col(Conversation.bot_active).label("bot_active"),
            first_in.label("first_in"),
            answered_by_bot.label("has_bot"),
        )
        .where(*_conversations_in(period))
        .cte("facts")
        # Computed once: inlined, SQLite would run the first-message probe twice per row.
        .prefix_with("MATERIALIZED")
    )
    first_reply = (
        select(reply.id)
        .where(
            reply.conversation_id == facts.c.cid,
            reply.id > facts.c.first_in,
            _public_operator(reply),
        )
        .order_by(reply.id)
        .limit(1)
        .scalar_subquery()
    )
    with_reply = select(facts, first_reply.label("reply_id")).subquery("with_reply")
    f = with_reply.c
    inbound: Any = aliased(Message)
    answer: Any = aliased(Message)
    query = (
        select(
            f.bot_active,
            f.has_bot,
            answer.operator_id,
            _seconds(answer.created_at, inbound.created_at, dialect),
        )
        .select_from(with_reply)
        .join(inbound, inbound.id == f.first_in)  # no customer message: nothing to count
        .outerjoin(answer, answer.id == f.reply_id)
    )
    conversations = bot_only = 0
    replies: list[tuple[int | None, float]] = []
    for bot_active, has_bot, operator_id, seconds in await session.execute(query):
        conversations += 1
        if seconds is None:
            # The bot answered, no person did, and no hand-off left the bot silent (a
            # hand-off sets bot_active false until the conversation is resolved).
            bot_only += bool(has_bot and bot_active)
        else:
            replies.append((operator_id, _ms(seconds)))
    return _Facts(conversations, bot_only, replies)


async def _resolutions(session: AsyncSession, period: Period) -> list[tuple[int | None, float]]:
    """(operator, seconds from creation) for each conversation's first resolution in the period."""
    dialect = session.get_bind().dialect.name
    query = (
        select(
            col(ConversationResolution.conversation_id),
            col(ConversationResolution.operator_id),
            _seconds(
                col(ConversationResolution.resolved_at), col(Conversation.created_at), dialect
            ),
        )
        .join(Conversation, col(Conversation.id) == col(ConversationResolution.conversation_id))
        .where(_in(period, col(ConversationResolution.resolved_at)))
        .order_by(col(ConversationResolution.id))
    )
    if period.channel:
        query = query.where(col(Conversation.channel) == period.channel)
    seen: dict[int, tuple[int | None, float]] = {}
    for conversation_id, operator_id, seconds in await session.execute(query):
        if conversation_id not in seen:
            seen[conversation_id] = (operator_id, _ms(seconds))
    return list(seen.values())


async def _replies_per_operator(session: AsyncSession, period: Period) -> dict[int, int]:
    query = (
        select(col(Message.operator_id), func.count())
        .where(
            col(Message.sender_type) == SenderType.OPERATOR,
            _in(period, col(Message.created_at)),
            col(Message.private).is_(False),
            col(Message.operator_id).is_not(None),
        )
        .group_by(col(Message.operator_id))
    )
    if period.channel:
        query = query.where(col(Message.channel) == period.channel)
    return {int(op or 0): int(n) for op, n in await session.execute(query)}


async def build_report(session: AsyncSession, period: Period) -> Report:
    facts = await _conversation_facts(session, period)
    firsts = facts.first_replies
    resolved = await _resolutions(session, period)
    replies = await _replies_per_operator(session, period)
    report = Report(
        period,
        volume=await _volume(session, period),
        first_response=Spread.of([s for _, s in firsts]),
        resolution=Spread.of([s for _, s in resolved]),
        bot=BotShare(facts.conversations, facts.bot_only),
    )
    first_by: dict[int, list[float]] = defaultdict(list)
    for operator_id, seconds in firsts:
        if operator_id is not None:
            first_by[operator_id].append(seconds)
    resolved_by: dict[int, int] = defaultdict(int)
    for operator_id, _ in resolved:
        if operator_id is not None:
            resolved_by[operator_id] += 1
    report.csat, report.csat_asked, report.csat_operators = await satisfaction(
        session, period.since, period.until, period.channel
    )
    ids = set(replies) | set(resolved_by) | set(first_by)
    if ids:
        rows = await session.execute(
            select(col(Operator.id), col(Operator.name)).where(col(Operator.id).in_(ids))
        )
        names = {operator_id: name for operator_id, name in rows}
        report.operators = sorted(
            (
                OperatorFigures(
                    i,
                    names.get(i, f"#{i}"),
                    replies.get(i, 0),
                    resolved_by.get(i, 0),
                    Spread.of(first_by.get(i, [])),
                )
                for i in ids
            ),
            key=lambda o: (o.name.lower(), o.operator_id),
        )
    return report
