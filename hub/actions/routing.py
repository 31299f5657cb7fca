"""The worker's routing step (issue 16): rules and out-of-hours replies on new customer
messages (auto-assignment follows in hub.actions.assignment).

Runs in the worker (hub.chores.routing), never on the webhook path. Each step is logged on
the conversation's thread as a private system note, so an operator sees why it happened.
New messages are taken in id order behind a cursor kept in `hub_settings`; the cursor moves
with a compare-and-set in the same transaction as the work, so with several workers each
message is routed once.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub import metrics
from hub.actions.assignment import BATCH, CURSOR, RoutingTimes
from hub.actions.conversations import changed
from hub.actions.out_of_hours import out_of_hours_reply
from hub.actions.replies import do_reply
from hub.actions.rules import list_rules
from hub.actions.system_notes import do_add_system_note
from hub.actions.teams import do_set_priority, do_set_team
from hub.domain.notes import Note
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
    HubSetting,
    Identity,
    Message,
    Operator,
    Order,
    Team,
)
from hub.queries.routing_settings import read_setting

log = logging.getLogger(__name__)


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
    old = await read_setting(session, CURSOR)
    # Each message with its conversation in one statement: a look-up per message was most
    # of this chore's cost under a bots-on load (every message of a new customer is new).
    rows = (
        await session.execute(
            select(Message, Conversation)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(col(Message.id) > int(old or 0))
            .order_by(col(Message.id))
            .limit(BATCH)
        )
    ).all()
    ready: list[tuple[Message, Conversation]] = []
    for message, conversation in rows:
        if bots and conversation.bot_active and message.created_at > times.now - times.settle:
            break
        ready.append((message, conversation))
    if not ready or not await _move_cursor(session, old, ready[-1][0].id or 0):
        return 0
    rules = [(r.name, r.rule) for r in await list_rules(session, enabled_only=True)]
    routed = 0
    for message, conversation in ready:
        if message.direction != Direction.INBOUND or message.sender_type != SenderType.CUSTOMER:
            continue
        if message.automated:  # an auto-reply or bounce: answering it could start a mail loop
            continue
        if conversation.status == ConversationStatus.RESOLVED:
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
                done.append(Note("rule.skipped", {"error": str(exc)}))
        added = {a.label for a in rule.then if isinstance(a, AddLabel)}
        if added:  # a label this rule added may feed the next rule
            facts = replace(facts, labels=facts.labels | added)
        await do_add_system_note(
            session, conversation, Note("rule.fired", {"name": name, "actions": tuple(done)})
        )
        log.info("rule %r fired on conversation %s", name, conversation.id)
        metrics.routing_actions.labels("rule_fired").inc()


async def _apply(
    session: AsyncSession, conversation: Conversation, message: Message, action: object
) -> Note:
    match action:
        case AddLabel(label=label):
            present = await session.get(ConversationLabel, (conversation.id, label))
            if present is None:
                session.add(ConversationLabel(conversation_id=conversation.id, label=label))  # type: ignore[arg-type]
                changed(session, conversation)
                await session.flush()
            return Note("rule.label", {"label": label})
        case AssignTo(operator_id=operator_id):
            operator = await session.get(Operator, operator_id)
            if operator is None or operator.disabled:
                return Note("rule.operator_gone", {"id": operator_id})
            conversation.assignee_id = operator_id
            conversation.routed_at = conversation.routed_at or message.created_at
            changed(session, conversation)
            return Note("rule.assigned", {"name": operator.name})
        case SetTeam(team_id=team_id):
            await do_set_team(session, conversation, team_id)
            team = await session.get(Team, team_id)
            return Note("rule.team", {"team": team.name if team else team_id})
        case SetPriority(priority=priority):
            do_set_priority(session, conversation, priority)
            return Note("rule.priority", {"priority": Note(f"priority.{priority}")})
        case SendReply(text=text):
            await do_reply(
                session, conversation, text, sender_type=SenderType.SYSTEM, channel=message.channel
            )
            return Note("rule.replied")
    raise TypeError(f"unknown rule action {action!r}")
