"""The external bot (agent bot API): its tokens, what it may touch, its answers and
handoffs, and the waits the router leaves for it.

With HUB_AGENT_BOT_URL set the external bot *is* the bot: the built-in bots stand aside
for every conversation (hub.runtime.worker), so a customer never gets two answers to one
message and nothing depends on which of two bots is faster. A conversation with the bot
(`bot_active`) is the external bot's from its first message; it stays so until the bot
hands it off, an operator takes it over, or the customer waited longer than
HUB_AGENT_BOT_TIMEOUT (hub.chores.agent_bot_timeout) or the bot could not be reached
(hub.queue.agent_bot): then it goes to a person, with a note on the thread saying why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.bots import wants_an_answer
from hub.actions.conversations import changed
from hub.actions.replies import do_add_note, do_reply
from hub.actions.system_notes import do_add_system_note
from hub.actions.texts import pick_locale, render
from hub.actions.unit import defer_job
from hub.domain import events
from hub.domain.messages import Routed
from hub.domain.notes import Note
from hub.domain.types import ConversationStatus, SenderType
from hub.errors import AccessDenied, HubError
from hub.models import AgentBotToken, AgentBotWait, Conversation, Customer, Message
from hub.models.base import utcnow
from hub.models.tables import CONVERSATIONS
from hub.queue.port import AGENT_BOT, NewJob
from hub.runtime.secrets import token_hash

log = logging.getLogger(__name__)

BOT_TOKEN_PREFIX = "hubbot_"
# A token's last use is written at most this often (as for operator tokens).
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
# The handoff reason the bot may give is kept on the note, this long at most.
MAX_REASON_CHARS = 500


def signing_secret(configured: str | None, secret_key: bytes) -> str:
    """HUB_AGENT_BOT_SECRET (`configured`), else a key derived from the hub's secret key:
    stable across processes and restarts, and not the secret key itself."""
    if configured:
        return configured
    return hmac.new(secret_key, b"agent-bot-signing", hashlib.sha256).hexdigest()


async def do_create_bot_token(session: AsyncSession) -> str:
    """A new token for the external bot: shown once, stored as its SHA-256."""
    token = BOT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(AgentBotToken(token_hash=token_hash(token)))
    await session.flush()
    log.info("agent bot token created")
    return token


async def do_revoke_bot_tokens(session: AsyncSession) -> int:
    """Revoke every bot token; answers how many there were."""
    result = await session.execute(delete(AgentBotToken))
    return int(getattr(result, "rowcount", 0) or 0)


def looks_like_bot_token(token: str) -> bool:
    return token.startswith(BOT_TOKEN_PREFIX)


async def bot_token_valid(session: AsyncSession, token: str) -> bool:
    """Whether `token` is a live bot token; notes its last use (the caller commits)."""
    row = await session.scalar(
        select(AgentBotToken).where(col(AgentBotToken.token_hash) == token_hash(token))
    )
    if row is None:
        return False
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        row.last_used_at = now
        session.add(row)
    return True


def with_bot(conversation: Conversation) -> bool:
    """Still the bot's: not taken over by a person, resolved, or folded into another."""
    return (
        conversation.bot_active
        and conversation.status != ConversationStatus.RESOLVED
        and conversation.merged_into_id is None
    )


def access_bot_conversation(conversation: Conversation) -> None:
    """The bot reads and writes only conversations that are with the bot (`with_bot`)."""
    if not with_bot(conversation):
        raise AccessDenied(
            f"conversation {conversation.id} is not with the bot (a person has it)",
            code="not_with_bot",
        )


def event_job(routed: Routed) -> NewJob:
    """The delivery of one customer message to the bot; one conversation's deliveries share
    a partition, so the bot hears them in the order they came."""
    return NewJob(
        key=f"conversation:{routed.conversation_id}",
        payload=json.dumps(
            {"message_id": routed.message_id, "conversation_id": routed.conversation_id}
        ),
        dedupe_key=f"agentbot:{routed.message_id}",
    )


async def do_note_for_bot(session: AsyncSession, routed: Sequence[Routed]) -> int:
    """In the router's transaction: each new customer message in a conversation with the bot
    is queued for the external bot, and its conversation starts waiting (if it was not
    already). Answers how many messages were queued."""
    wanted = [r for r in routed if wants_an_answer(r.inbound)]
    if not wanted:
        return 0
    bots = set(
        await session.scalars(
            select(CONVERSATIONS.c.id).where(
                CONVERSATIONS.c.id.in_({r.conversation_id for r in wanted}),
                CONVERSATIONS.c.bot_active.is_(True),
                CONVERSATIONS.c.merged_into_id.is_(None),
                # Only a satisfaction answer lands in a resolved one (hub.actions.csat):
                # the hub thanks for it, the bot is not asked.
                CONVERSATIONS.c.status != ConversationStatus.RESOLVED.value,
            )
        )
    )
    queued = [r for r in wanted if r.conversation_id in bots]
    for item in queued:
        defer_job(session, AGENT_BOT, event_job(item))
    if bots:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        now = utcnow()
        await session.execute(
            dialect.insert(AgentBotWait)
            .values([{"conversation_id": vid, "since": now} for vid in sorted(bots)])
            .on_conflict_do_nothing(index_elements=["conversation_id"])
        )
    return len(queued)


async def stop_waiting(session: AsyncSession, conversation_id: int) -> None:
    await session.execute(
        delete(AgentBotWait).where(col(AgentBotWait.conversation_id) == conversation_id)
    )


async def do_bot_reply(
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    private: bool = False,
    channel: str | None = None,
) -> Message:
    """The bot's answer (sent like any reply) or private note; an answer ends the wait."""
    access_bot_conversation(conversation)
    if private:
        return await do_add_note(
            session, conversation, text, sender_type=SenderType.BOT, channel=channel
        )
    message = await do_reply(
        session, conversation, text, sender_type=SenderType.BOT, channel=channel
    )
    await stop_waiting(session, conversation.id or 0)
    return message


async def do_hand_off(
    session: AsyncSession, conversation: Conversation, why: Note, *, tell_customer: bool = False
) -> Conversation:
    """The same handoff the built-in bots make: no longer with the bot, open (a resolved
    one stays resolved), waiting for a person; `why` goes on the thread as a system note.
    `tell_customer`: the hub, not the bot, says a person will answer (the built-in
    "handoff" text), for a customer the bot left without a word."""
    if tell_customer:
        await _say_a_person_will_answer(session, conversation)
    conversation.bot_active = False
    conversation.bot_unanswered = 0
    if conversation.status != ConversationStatus.RESOLVED:
        conversation.status = ConversationStatus.OPEN
        conversation.snooze_until = None
    changed(session, conversation)
    await stop_waiting(session, conversation.id or 0)
    await do_add_system_note(session, conversation, why)
    log.info("agent bot handoff", extra={"conversation_id": conversation.id, "why": why.key})
    return conversation


async def _say_a_person_will_answer(session: AsyncSession, conversation: Conversation) -> None:
    customer = await session.get(Customer, conversation.customer_id)
    locale = pick_locale(customer.locale if customer is not None else None)
    text = render(locale, "handoff", {"channel": conversation.channel})
    try:
        # Checked before anything is written: a refusal leaves the session as it was.
        await do_reply(session, conversation, text, sender_type=SenderType.BOT)
    except HubError as exc:  # no address to reach them, WhatsApp's window closed, ...
        log.info(
            "handoff text not sent: %s", exc.message, extra={"conversation_id": conversation.id}
        )


async def do_bot_hand_off(
    session: AsyncSession, conversation: Conversation, reason: str | None
) -> Conversation:
    """The bot asks for a person (its reason, if it gave one, goes on the note)."""
    access_bot_conversation(conversation)
    why = Note("agent_bot.handoff")
    if reason and reason.strip():
        why = Note("agent_bot.handoff_reason", {"reason": reason.strip()[:MAX_REASON_CHARS]})
    return await do_hand_off(session, conversation, why)


async def do_hand_off_overdue(session: AsyncSession, now: datetime, timeout: float) -> list[int]:
    """Hand to a person each conversation whose customer waited for the bot longer than
    `timeout` seconds; the ids handed off. The waits are taken with one DELETE ...
    RETURNING, so with several workers each is handed off once."""
    taken = await session.execute(
        delete(AgentBotWait)
        .where(col(AgentBotWait.since) <= now - timedelta(seconds=timeout))
        .returning(col(AgentBotWait.conversation_id))
    )
    handed: list[int] = []
    for conversation_id in sorted(taken.scalars()):
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or not with_bot(conversation):
            continue  # a person took it over or resolved it meanwhile: nothing to hand off
        why = Note("agent_bot.timeout", {"seconds": float(timeout)})
        await do_hand_off(session, conversation, why, tell_customer=True)
        handed.append(conversation_id)
    return handed


async def bot_event(session: AsyncSession, message_id: int) -> dict[str, object] | None:
    """The `message.created` event for the external bot (README "External bots"); None
    when there is nothing to tell it any more: the message is gone or its conversation is
    no longer with the bot (a person took it over, or it was handed off meanwhile)."""
    message = await session.get(Message, message_id)
    if message is None:
        return None
    conversation = await session.get(Conversation, message.conversation_id)
    customer = await session.get(Customer, message.customer_id)
    if conversation is None or customer is None:
        return None
    if not with_bot(conversation):
        return None
    return {
        "event": events.MESSAGE_CREATED,
        "conversation": {
            "id": conversation.id,
            "status": conversation.status,
            "channel": conversation.channel,
            "bot_active": conversation.bot_active,
            "assignee_id": conversation.assignee_id,
            "created_at": conversation.created_at.isoformat(),
            "last_message_at": conversation.last_message_at.isoformat(),
        },
        "message": {
            "id": message.id,
            "conversation_id": message.conversation_id,
            "direction": message.direction,
            "sender_type": message.sender_type,
            "channel": message.channel,
            "text": message.text,
            "created_at": message.created_at.isoformat(),
        },
        "customer": {"id": customer.id, "name": customer.name, "locale": customer.locale},
    }


async def do_hand_off_unreachable(session: AsyncSession, conversation_id: int, error: str) -> bool:
    """The bot could not be told of a message (its deliveries ended failed): a person
    answers instead. False when the conversation is no longer with the bot anyway."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not with_bot(conversation):
        return False
    why = Note("agent_bot.unreachable", {"error": error})
    await do_hand_off(session, conversation, why, tell_customer=True)
    return True
