"""Operator browser sessions: start, end, look up; idle and absolute ends.

The cookie carries a random id; only its SHA-256 is stored, so a leaked table cannot be
replayed. Each login makes a new id (no fixation) with its own CSRF token. A session ends
`idle` after its last request and `lifetime` after sign-in, whichever comes first; it is
refused at once when its operator is disabled (looked up on every request).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import Operator, OperatorSession
from hub.models.base import utcnow
from hub.runtime.secrets import token_hash

MAX_RAW_CHARS = 100
# A request writes the session's last-seen time at most this often: not a write per click.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionRules:
    """HUB_SESSION_IDLE_MINUTES and HUB_SESSION_MAX_HOURS (SPEC §10)."""

    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)

    @classmethod
    def of(cls, idle_minutes: float, max_hours: float) -> SessionRules:
        return cls(timedelta(minutes=idle_minutes), timedelta(hours=max_hours))

    def ended(self, row: OperatorSession, now: datetime) -> bool:
        return (
            now >= row.expires_at
            or now >= row.created_at + self.lifetime
            or now >= row.last_seen_at + self.idle
        )


@dataclass(frozen=True)
class SignedIn:
    operator: Operator
    csrf_token: str


async def do_start_session(session: AsyncSession, operator: Operator, rules: SessionRules) -> str:
    """A new session for `operator`; answers the raw id for the cookie (shown only once)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        OperatorSession(
            id_hash=token_hash(raw),
            operator_id=operator.id,  # type: ignore[arg-type]
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + rules.lifetime,
        )
    )
    # Ended sessions of anyone are swept here: logins are rare, sweeping is cheap.
    await session.execute(
        delete(OperatorSession).where(
            or_(
                col(OperatorSession.expires_at) < now,
                col(OperatorSession.last_seen_at) < now - rules.idle,
            )
        )
    )
    await session.flush()
    return raw


async def do_end_session(session: AsyncSession, raw: str) -> None:
    await session.execute(
        delete(OperatorSession).where(col(OperatorSession.id_hash) == token_hash(raw))
    )


async def do_end_sessions_of(
    session: AsyncSession, operator_id: int, *, keep_raw: str | None = None
) -> None:
    """End every session of an operator (but `keep_raw`, the caller's own, if given)."""
    query = delete(OperatorSession).where(col(OperatorSession.operator_id) == operator_id)
    if keep_raw:
        query = query.where(col(OperatorSession.id_hash) != token_hash(keep_raw))
    await session.execute(query)


async def signed_in(
    session: AsyncSession, raw: str, rules: SessionRules, *, touch: bool = True
) -> SignedIn | None:
    """The operator behind a session cookie, or None for an unknown, ended or disabled one.

    `touch` (the operator's own request) moves the session's last-seen time forward, at
    most once a `TOUCH_EVERY`; the caller commits."""
    if not raw or len(raw) > MAX_RAW_CHARS:
        return None
    row = await session.get(OperatorSession, token_hash(raw))
    now = utcnow()
    if row is None or rules.ended(row, now):
        return None
    operator = await session.get(Operator, row.operator_id)
    if operator is None or operator.disabled:
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return SignedIn(operator, row.csrf_token)
