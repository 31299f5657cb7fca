"""The operators' inbox: browser sessions, read markers, bot handoff and customer names.

Sessions: the cookie carries a random id; only its SHA-256 is stored, so a leaked table
cannot be replayed. Each login makes a new id (no fixation) with its own CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import OperatorRole
from hub.errors import AccessDenied, InvalidInput
from hub.models import (
    CannedResponse,
    Conversation,
    ConversationRead,
    Customer,
    Operator,
    OperatorSession,
)
from hub.models.base import utcnow
from hub.secrets import token_hash

SESSION_LIFETIME = timedelta(days=7)
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class SignedIn:
    operator: Operator
    csrf_token: str


async def do_start_session(session: AsyncSession, operator: Operator) -> str:
    """A new session for `operator`; answers the raw id for the cookie (shown only once)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        OperatorSession(
            id_hash=token_hash(raw),
            operator_id=operator.id,  # type: ignore[arg-type]
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    # Expired sessions of anyone are swept here: logins are rare, sweeping is cheap.
    await session.execute(delete(OperatorSession).where(col(OperatorSession.expires_at) < now))
    await session.flush()
    return raw


async def do_end_session(session: AsyncSession, raw: str) -> None:
    await session.execute(
        delete(OperatorSession).where(col(OperatorSession.id_hash) == token_hash(raw))
    )


async def signed_in(session: AsyncSession, raw: str) -> SignedIn | None:
    """The operator behind a session cookie, or None for an unknown or expired one."""
    if not raw or len(raw) > 100:
        return None
    row = await session.get(OperatorSession, token_hash(raw))
    if row is None or row.expires_at <= utcnow():
        return None
    operator = await session.get(Operator, row.operator_id)
    return None if operator is None else SignedIn(operator, row.csrf_token)


async def do_mark_read(session: AsyncSession, operator_id: int, conversation_id: int) -> None:
    """Idempotent upsert: two tabs opening the same thread at once both succeed."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    await session.execute(
        dialect.insert(ConversationRead)
        .values(operator_id=operator_id, conversation_id=conversation_id, read_at=now)
        .on_conflict_do_update(
            index_elements=["operator_id", "conversation_id"], set_={"read_at": now}
        )
    )


async def read_markers(
    session: AsyncSession, operator_id: int, conversation_ids: list[int]
) -> dict[int, datetime]:
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(col(ConversationRead.conversation_id), col(ConversationRead.read_at)).where(
            col(ConversationRead.operator_id) == operator_id,
            col(ConversationRead.conversation_id).in_(conversation_ids),
        )
    )
    return {conversation_id: at for conversation_id, at in rows}


def unread(conversation: Conversation, markers: dict[int, datetime]) -> bool:
    seen = markers.get(conversation.id or 0)
    return seen is None or conversation.last_message_at > seen


COUNT_CAP = 1000  # a tab shows "1000+" beyond this


async def status_counts(session: AsyncSession, statuses: list[str]) -> dict[str, int]:
    """Conversations per status, each counted only up to COUNT_CAP + 1.

    Counting all of them read the whole status index (100,000 conversations: 6 ms of a
    20 ms list page, bench/inbox.py); a capped count reads at most COUNT_CAP + 1 entries
    of it per status, in one query."""
    if not statuses:
        return {}
    counts = []
    for status in statuses:
        some = (
            select(literal(1))
            .where(col(Conversation.status) == status)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        counts.append(select(func.count()).select_from(some).scalar_subquery())
    row = (await session.execute(select(*counts))).one()
    return {status: int(n) for status, n in zip(statuses, row, strict=True)}


def do_set_bot_active(session: AsyncSession, conversation: Conversation, active: bool) -> None:
    """ "Let the bot answer" (True) or "take over" (False)."""
    conversation.bot_active = active
    changed(session, conversation)


def check_customer_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("name must not be empty")
    if len(clean) > MAX_NAME_CHARS:
        raise InvalidInput(f"name is longer than {MAX_NAME_CHARS} characters")
    return clean


def do_rename_customer(session: AsyncSession, customer: Customer, name: str) -> None:
    customer.name = check_customer_name(name)
    session.add(customer)
    record(session, Event(events.CUSTOMER_UPDATED, customer_id=customer.id))


async def list_operators(session: AsyncSession) -> list[Operator]:
    return list((await session.scalars(select(Operator).order_by(col(Operator.name)))).all())


async def all_canned(session: AsyncSession) -> list[CannedResponse]:
    rows = await session.scalars(select(CannedResponse).order_by(col(CannedResponse.shortcut)))
    return list(rows.all())


async def expand_canned(session: AsyncSession, text: str) -> str:
    """`/shortcut` alone in the reply box stands for its canned text (also without JS)."""
    stripped = text.strip()
    if not stripped.startswith("/") or " " in stripped:
        return text
    canned = await session.scalar(
        select(CannedResponse).where(col(CannedResponse.shortcut) == stripped[1:])
    )
    return canned.text if canned is not None else text


def access_admin(operator: Operator) -> None:
    """Managing operators and canned responses is for admins only."""
    if operator.role != OperatorRole.ADMIN:
        raise AccessDenied("only an admin can manage operators and canned responses")
