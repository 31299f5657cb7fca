"""The worker's routing step (issue 16): rules and out-of-hours replies on new customer
messages, then round-robin auto-assignment of conversations waiting for a person.

Runs in the worker (hub.chores.routing), never on the webhook path. Each step is logged on
the conversation's thread as a private system note, so an operator sees why it happened.
New messages are taken in id order behind a cursor kept in `hub_settings`; the cursor moves
with a compare-and-set in the same transaction as the work, so with several workers each
message is routed once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed
from hub.actions.replies import do_add_note, do_reply
from hub.actions.rules import list_rules
from hub.actions.teams import do_set_priority, do_set_team
from hub.actions.texts import pick_locale, render
from hub.domain.hours import closed_since, next_open, parse_hours, zone
from hub.domain.rules import (
    AddLabel,
    AssignTo,
    Rule,
    RuleFacts,
    SendReply,
    SetPriority,
    SetTeam,
    Trigger,
    matches,
)
from hub.domain.types import Channel, ConversationStatus, Direction, SenderType
from hub.errors import HubError
from hub.models import (
    Conversation,
    ConversationLabel,
    Customer,
    HubSetting,
    Identity,
    Message,
    Operator,
    OperatorSession,
    Order,
    Team,
    TeamMember,
)
from hub.queries.routing_settings import auto_assign_on

log = logging.getLogger(__name__)

CURSOR = "routing.cursor"
ROUND_ROBIN = "routing.rr."  # + team id or "all": the operator assigned last
BATCH = 100


@dataclass(frozen=True, slots=True)
class RoutingTimes:
    now: datetime
    settle: timedelta
    online: timedelta


async def _setting(session: AsyncSession, key: str) -> str | None:
    value = await session.scalar(select(col(HubSetting.value)).where(col(HubSetting.key) == key))
    return None if value is None else str(value)


async def _put(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(HubSetting, key)
    session.add(HubSetting(key=key, value=value) if row is None else row)
    if row is not None:
        row.value = value
    await session.flush()


async def _move_cursor(session: AsyncSession, old: str | None, new: int) -> bool:
    """Compare-and-set: False when another worker moved it first (it routes those)."""
    if old is None:
        session.add(HubSetting(key=CURSOR, value=str(new)))
        await session.flush()
        return True
    moved = await session.execute(
        update(HubSetting)
        .where(col(HubSetting.key) == CURSOR, col(HubSetting.value) == old)
        .values(value=str(new))
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


async def route_new_messages(session: AsyncSession, times: RoutingTimes, *, bots: bool) -> int:
    """Rules and out-of-hours replies for customer messages stored since the last turn;
    how many messages were routed. A message waits (and the ones after it) while the bot
    may still answer it; the caller commits."""
    # Migration 0013 starts the cursor at the last message then stored: history is never
    # routed. Missing (a hand-cleared table): from the start.
    old = await _setting(session, CURSOR)
    rows = (
        await session.execute(
            select(Message, col(Conversation.bot_active))
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(col(Message.id) > int(old or 0))
            .order_by(col(Message.id))
            .limit(BATCH)
        )
    ).all()
    ready: list[Message] = []
    for message, bot_active in rows:
        if bots and bot_active and message.created_at > times.now - times.settle:
            break
        ready.append(message)
    if not ready or not await _move_cursor(session, old, ready[-1].id or 0):
        return 0
    rules = [(r.name, r.rule) for r in await list_rules(session, enabled_only=True)]
    routed = 0
    for message in ready:
        if message.direction != Direction.INBOUND or message.sender_type != SenderType.CUSTOMER:
            continue
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is None or conversation.status == ConversationStatus.RESOLVED:
            continue
        routed += 1
        if rules:
            await _apply_rules(session, conversation, message, rules)
        if not (bots and conversation.bot_active):
            if conversation.waiting_since is None and not await _answered(session, message):
                conversation.waiting_since = message.created_at
                session.add(conversation)
            await out_of_hours_reply(session, conversation, times.now)
    return routed


async def _answered(session: AsyncSession, message: Message) -> bool:
    """An operator replied after this message (routed late): it starts no wait."""
    later = await session.scalar(
        select(col(Message.id))
        .where(
            col(Message.conversation_id) == message.conversation_id,
            col(Message.id) > message.id,
            col(Message.sender_type) == SenderType.OPERATOR.value,
            col(Message.private).is_(False),
        )
        .limit(1)
    )
    return later is not None


async def _facts(session: AsyncSession, conversation: Conversation, message: Message) -> RuleFacts:
    first = await session.scalar(
        select(func.min(col(Message.id))).where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == Direction.INBOUND.value,
        )
    )
    labels = await session.scalars(
        select(col(ConversationLabel.label)).where(
            col(ConversationLabel.conversation_id) == conversation.id
        )
    )
    orders = await session.scalar(
        select(col(Order.id)).where(col(Order.customer_id) == conversation.customer_id).limit(1)
    )
    emails = await session.scalars(
        select(col(Identity.address)).where(
            col(Identity.customer_id) == conversation.customer_id,
            col(Identity.channel) == Channel.EMAIL.value,
            col(Identity.verified).is_(True),
        )
    )
    trigger: Trigger = "new_conversation" if first == message.id else "new_message"
    return RuleFacts(
        trigger=trigger,
        channel=message.channel,
        text=message.text,
        labels=frozenset(labels),
        has_orders=orders is not None,
        emails=tuple(emails),
    )


async def _apply_rules(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    rules: list[tuple[str, Rule]],
) -> None:
    facts = await _facts(session, conversation, message)
    for name, rule in rules:
        if not matches(rule, facts):
            continue
        done = []
        for action in rule.then:
            try:
                done.append(await _apply(session, conversation, message, action))
            except HubError as exc:  # a deleted team or operator: the rest still runs
                done.append(f"skipped ({exc})")
        facts = await _facts(session, conversation, message)  # a label may feed the next rule
        await do_add_note(
            session,
            conversation,
            f"Rule “{name}”: {'; '.join(done)}",
            sender_type=SenderType.SYSTEM,
        )
        log.info("rule %r fired on conversation %s", name, conversation.id)


async def _apply(
    session: AsyncSession, conversation: Conversation, message: Message, action: object
) -> str:
    match action:
        case AddLabel(label=label):
            present = await session.get(ConversationLabel, (conversation.id, label))
            if present is None:
                session.add(ConversationLabel(conversation_id=conversation.id, label=label))  # type: ignore[arg-type]
                changed(session, conversation)
                await session.flush()
            return f"label {label}"
        case AssignTo(operator_id=operator_id):
            operator = await session.get(Operator, operator_id)
            if operator is None or operator.disabled:
                return f"skipped (operator {operator_id} is gone or disabled)"
            conversation.assignee_id = operator_id
            conversation.routed_at = conversation.routed_at or message.created_at
            changed(session, conversation)
            return f"assigned to {operator.name}"
        case SetTeam(team_id=team_id):
            await do_set_team(session, conversation, team_id)
            team = await session.get(Team, team_id)
            return f"team {team.name if team else team_id}"
        case SetPriority(priority=priority):
            do_set_priority(session, conversation, priority)
            return f"priority {priority}"
        case SendReply(text=text):
            await do_reply(
                session, conversation, text, sender_type=SenderType.SYSTEM, channel=message.channel
            )
            return "replied"
    raise TypeError(f"unknown rule action {action!r}")


async def out_of_hours_reply(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> bool:
    """Tell the customer, in their language and on their own channel, that the team is
    closed and when it opens: once per conversation per closed period."""
    if conversation.team_id is None:
        return False
    team = await session.get(Team, conversation.team_id)
    if team is None or not team.hours:
        return False
    hours, tz = parse_hours(team.hours), zone(team.timezone)
    since = closed_since(hours, tz, now)
    if since is None or (conversation.out_of_hours_at and conversation.out_of_hours_at >= since):
        return False
    conversation.out_of_hours_at = now
    session.add(conversation)
    customer = await session.get(Customer, conversation.customer_id)
    last = await session.scalar(
        select(col(Message.text))
        .where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == Direction.INBOUND.value,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    locale = pick_locale(customer.locale if customer else None, last)
    opens = next_open(hours, tz, now)
    text = render(
        locale,
        "out_of_hours",
        {
            "team": team.name,
            "opens": opens.astimezone(tz).strftime("%Y-%m-%d %H:%M") if opens else None,
            "timezone": team.timezone,
        },
    )
    try:
        await do_reply(session, conversation, text, sender_type=SenderType.SYSTEM)
    except HubError as exc:  # no address on that channel, WhatsApp window closed
        log.warning("out-of-hours reply to conversation %s not sent: %s", conversation.id, exc)
        return False
    return True


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
    return [
        col(Conversation.status) == ConversationStatus.OPEN.value,
        col(Conversation.assignee_id).is_(None),
        col(Conversation.routed_at).is_(None),
        col(Conversation.merged_into_id).is_(None),
        for_person,
        ~unrouted,
    ]


async def has_work(session: AsyncSession, times: RoutingTimes, *, bots: bool) -> bool:
    """Reads only: whether a turn would change anything, so that an idle hub never takes
    the write turn (on SQLite every webhook's enqueue waits for it)."""
    cursor = int(await _setting(session, CURSOR) or 0)
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
    cursor = int(await _setting(session, CURSOR) or 0)
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
        last = int(await _setting(session, key) or 0)
        pick = next((o for o in eligible if o > last), eligible[0])
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
        await session.refresh(conversation)
        await _put(session, key, str(pick))
        load[pick] += 1
        assigned += 1
        team = f", team {conversation.team_id}" if conversation.team_id else ""
        if conversation.team_id:
            found = await session.get(Team, conversation.team_id)
            team = f", team {found.name}" if found else team
        changed(session, conversation)
        await do_add_note(
            session,
            conversation,
            f"Auto-assigned to {names.get(pick, pick)} (round robin among online operators{team})",
            sender_type=SenderType.SYSTEM,
        )
    return assigned
