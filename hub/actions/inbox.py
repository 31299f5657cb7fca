"""The operators' inbox: read markers, bot handoff and customer names (browser sessions
are hub/actions/sessions.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, literal, select
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
)
from hub.models.base import utcnow

MAX_NAME_CHARS = 200


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
