"""Auto-assignment (issue 16): conversations waiting for a person go round-robin to online
operators, of their team when they have one, under each operator's cap of open
conversations. The round-robin position per team is kept in `hub_settings`, so every
worker continues where the last one left off."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from hub.actions.conversations import changed
from hub.actions.out_of_hours import out_of_hours_reply
from hub.actions.system_notes import do_add_system_note
from hub.domain.notes import Note
from hub.domain.types import ConversationStatus, Direction, SenderType
from hub.models import (
    Conversation,
    HubSetting,
    Message,
    Operator,
    OperatorSession,
    Team,
    TeamMember,
)
from hub.queries.routing_settings import auto_assign_on, read_setting

log = logging.getLogger(__name__)

CURSOR = "routing.cursor"
ROUND_ROBIN = "routing.rr."  # + team id or "all": the operator assigned last
BATCH = 100


@dataclass(frozen=True, slots=True)
class RoutingTimes:
    now: datetime
    settle: timedelta
    online: timedelta


async def _put(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(HubSetting, key)
    session.add(HubSetting(key=key, value=value) if row is None else row)
    if row is not None:
        row.value = value
    await session.flush()


async def online_operators(session: AsyncSession, now: datetime, within: timedelta) -> list[int]:
    """Operators with a live inbox session that made a request within `within`."""
    ids = await session.scalars(
        select(col(OperatorSession.operator_id))
        .join(Operator, col(Operator.id) == col(OperatorSession.operator_id))
        .where(
            col(OperatorSession.last_seen_at) >= now - within,
            col(OperatorSession.expires_at) > now,
            col(Operator.disabled_at).is_(None),
        )
        .distinct()
    )
    return sorted(set(ids))


def _waiting(cursor: int, *, bots: bool) -> list[ColumnElement[bool]]:
    """Open, unassigned conversations waiting for a person that were never routed."""
    # With the bots off (HUB_BOTS=0) every new conversation waits for a person.
    for_person = col(Conversation.bot_active).is_(False) if bots else true()
    # Rules run first (they may set the team, or assign): a conversation with a message the
    # cursor has not passed yet waits for the next turn. Checked here, not assumed from one
    # snapshot: SQLite reads outside a write are each their own snapshot.
    unrouted = exists().where(
        col(Message.conversation_id) == col(Conversation.id), col(Message.id) > cursor
    )
    # An operator answered the customer's latest message (and took the thread from the bot
    # by it): nobody waits, whoever placed it. Without this, a reply made before the cursor
    # passed it started a wait, an alert and an auto-assignment to someone else.
    asked = aliased(Message)
    latest_question = (
        select(func.coalesce(func.max(col(asked.id)), 0))
        .where(
            col(asked.conversation_id) == col(Conversation.id),
            col(asked.direction) == Direction.INBOUND.value,
        )
        .scalar_subquery()
    )
    answered = exists().where(
        col(Message.conversation_id) == col(Conversation.id),
        col(Message.sender_type) == SenderType.OPERATOR.value,
        col(Message.private).is_(False),
        col(Message.id) > latest_question,
    )
    return [
        col(Conversation.status) == ConversationStatus.OPEN.value,
        col(Conversation.assignee_id).is_(None),
        col(Conversation.routed_at).is_(None),
        col(Conversation.merged_into_id).is_(None),
        for_person,
        ~unrouted,
        ~answered,
    ]


async def has_work(session: AsyncSession, times: RoutingTimes, *, bots: bool) -> bool:
    """Reads only: whether a turn would change anything, so that an idle hub never takes
    the write turn (on SQLite every webhook's enqueue waits for it)."""
    cursor = int(await read_setting(session, CURSOR) or 0)
    if await session.scalar(select(col(Message.id)).where(col(Message.id) > cursor).limit(1)):
        return True
    base = _waiting(cursor, bots=bots)
    if await session.scalar(
        select(col(Conversation.id))
        .where(*base, col(Conversation.waiting_since).is_(None))
        .limit(1)
    ):
        return True
    if not await session.scalar(select(col(Conversation.id)).where(*base).limit(1)):
        return False
    return await auto_assign_on(session) and bool(
        await online_operators(session, times.now, times.online)
    )


async def assign_waiting(
    session: AsyncSession, times: RoutingTimes, *, bots: bool, default_cap: int
) -> int:
    """Conversations waiting for a person (handed off by the bot, or every new one with the
    bots off) go round-robin to an online operator, of their team when they have one, under
    each operator's cap of open conversations. How many were assigned; the caller commits."""
    cursor = int(await read_setting(session, CURSOR) or 0)
    waiting = list(
        await session.scalars(
            select(Conversation)
            .where(*_waiting(cursor, bots=bots))
            .order_by(col(Conversation.id))
            .limit(BATCH)
        )
    )
    if not waiting:
        return 0
    for conversation in waiting:
        if conversation.waiting_since is None:
            conversation.waiting_since = times.now
            session.add(conversation)
        await out_of_hours_reply(session, conversation, times.now)
    if not await auto_assign_on(session):
        return 0
    online = await online_operators(session, times.now, times.online)
    if not online:
        return 0
    caps = dict(
        (
            await session.execute(
                select(col(Operator.id), col(Operator.auto_assign_cap)).where(
                    col(Operator.id).in_(online)
                )
            )
        ).all()
    )
    names = dict(
        (
            await session.execute(
                select(col(Operator.id), col(Operator.name)).where(col(Operator.id).in_(online))
            )
        ).all()
    )
    load: dict[int, int] = dict.fromkeys(online, 0)
    for operator_id, count in await session.execute(
        select(col(Conversation.assignee_id), func.count())
        .where(
            col(Conversation.assignee_id).in_(online),
            col(Conversation.status) == ConversationStatus.OPEN.value,
        )
        .group_by(col(Conversation.assignee_id))
    ):
        if operator_id is not None:
            load[operator_id] = count
    members: dict[int, set[int]] = {}
    for team_id, operator_id in await session.execute(
        select(col(TeamMember.team_id), col(TeamMember.operator_id))
    ):
        members.setdefault(team_id, set()).add(operator_id)
    assigned = 0
    last_of: dict[str, int] = {}  # round-robin position per team key
    for conversation in waiting:
        pool = (
            online
            if conversation.team_id is None
            else [o for o in online if o in members.get(conversation.team_id, set())]
        )
        eligible = [o for o in pool if load[o] < (caps.get(o) or default_cap)]
        if not eligible:
            continue
        key = ROUND_ROBIN + (str(conversation.team_id) if conversation.team_id else "all")
        if key not in last_of:
            last_of[key] = int(await read_setting(session, key) or 0)
        pick = next((o for o in eligible if o > last_of[key]), eligible[0])
        taken = await session.execute(
            update(Conversation)
            .where(
                col(Conversation.id) == conversation.id,
                col(Conversation.assignee_id).is_(None),
                col(Conversation.routed_at).is_(None),
            )
            .values(assignee_id=pick, routed_at=times.now)
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            continue  # assigned by hand (or by another worker) meanwhile
        # Written by the UPDATE above: the loaded object learns it without another write.
        set_committed_value(conversation, "assignee_id", pick)
        set_committed_value(conversation, "routed_at", times.now)
        last_of[key] = pick
        load[pick] += 1
        assigned += 1
        name = names.get(pick, pick)
        note = Note("assign.round_robin", {"name": name})
        if conversation.team_id:
            found = await session.get(Team, conversation.team_id)
            team = found.name if found else conversation.team_id
            note = Note("assign.round_robin_team", {"name": name, "team": team})
        changed(session, conversation)
        await do_add_system_note(session, conversation, note)
    for key, operator_id in last_of.items():
        await _put(session, key, str(operator_id))
    return assigned
