"""Operator and bot replies: stored first, then sent through the customer's channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.channel_state import whatsapp_window_open
from hub.actions.conversations import changed, unresolved_conversation
from hub.actions.unit import defer_send, record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import PREVIEW_CHARS
from hub.domain.types import Channel, ConversationStatus, Direction, MessageStatus, SenderType
from hub.errors import InvalidInput, WindowClosed
from hub.models import Conversation, Identity, Message
from hub.models.base import utcnow

MAX_REPLY_CHARS = 20_000


async def reply_address(
    session: AsyncSession, customer_id: int, channel: str, *, claimed_ok: bool = False
) -> str | None:
    """The address to reach this customer on `channel`: the one they last wrote from, else
    one of their proven identities; a claimed one only when an operator picked the channel
    by hand (`claimed_ok`): the hub itself never picks a claim (SPEC §6)."""
    last = await session.scalar(
        select(col(Message.address))
        .where(
            col(Message.customer_id) == customer_id,
            col(Message.channel) == channel,
            col(Message.direction) == Direction.INBOUND,
            # An auto-reply, bounce or bulk mail is never answered.
            col(Message.automated).is_(False),
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    if last:
        return last
    automatic_only = select(col(Message.address)).where(
        col(Message.customer_id) == customer_id,
        col(Message.channel) == channel,
        col(Message.automated).is_(True),
    )
    return await session.scalar(
        select(col(Identity.address))
        .where(
            col(Identity.customer_id) == customer_id,
            col(Identity.channel) == channel,
            col(Identity.address).not_in(automatic_only),
            *([] if claimed_ok else [col(Identity.verified).is_(True)]),
        )
        .order_by(col(Identity.id).desc())
        .limit(1)
    )


def check_reply_text(text: str) -> str:
    if not text or not text.strip():
        raise InvalidInput("text must not be empty")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidInput(f"text is longer than {MAX_REPLY_CHARS} characters")
    return text


async def do_reply(
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    sender_type: SenderType,
    operator_id: int | None = None,
    channel: str | None = None,
    content_sid: str | None = None,
) -> Message:
    """Store the reply and defer its send to the commit (hub.actions.unit).

    WhatsApp outside 24 h of the customer's last WhatsApp message takes a Content template
    (`content_sid`, configured per message kind) or raises WindowClosed (409). A reply in
    a resolved conversation while the customer has an unresolved one goes to that one.
    """
    check_reply_text(text)
    if conversation.status == ConversationStatus.RESOLVED:
        conversation = await unresolved_conversation(session, conversation.customer_id) or (
            conversation
        )
    target = valid_channel(channel or conversation.channel)
    by_hand = sender_type is SenderType.OPERATOR and channel is not None
    address = await reply_address(session, conversation.customer_id, target, claimed_ok=by_hand)
    if address is None:
        raise InvalidInput(f"the customer has no {target} address to reply to")
    if (
        target == Channel.WHATSAPP
        and content_sid is None
        and not await whatsapp_window_open(session, conversation.customer_id)
    ):
        raise window_closed()
    message = _message(conversation, text, sender_type, operator_id, target, private=False)
    message.address = address
    message.content_sid = content_sid
    conversation.last_message_at = message.created_at
    conversation.last_message_text = text[:PREVIEW_CHARS]
    if sender_type is SenderType.OPERATOR:
        conversation.bot_active = False
        # SLA first response, and the customer no longer waits (hub.chores.waiting_alert).
        conversation.first_reply_at = conversation.first_reply_at or message.created_at
        conversation.waiting_since = None
    await _store(session, conversation, message)
    defer_send(session, message)
    return message


async def do_add_note(
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    sender_type: SenderType = SenderType.OPERATOR,
    operator_id: int | None = None,
    channel: str | None = None,
) -> Message:
    """Store a private note on the thread: seen by operators only, never sent, and not the
    conversation's latest message."""
    check_reply_text(text)
    target = valid_channel(channel or conversation.channel)
    message = _message(conversation, text, sender_type, operator_id, target, private=True)
    await _store(session, conversation, message)
    return message


def window_closed() -> WindowClosed:
    return WindowClosed(
        "the WhatsApp 24-hour window is closed: free-form replies are allowed only "
        "within 24 hours of the customer's last WhatsApp message; pick another "
        "channel or send a template"
    )


def valid_channel(name: str) -> str:
    try:
        Channel(name)
    except ValueError:
        raise InvalidInput(f"unknown channel {name!r}") from None
    return name


def _message(
    conversation: Conversation,
    text: str,
    sender_type: SenderType,
    operator_id: int | None,
    channel: str,
    *,
    private: bool,
) -> Message:
    return Message(
        conversation_id=conversation.id,  # type: ignore[arg-type]
        customer_id=conversation.customer_id,
        direction=Direction.OUTBOUND,
        sender_type=sender_type,
        operator_id=operator_id,
        channel=channel,
        text=text,
        private=private,
        status=MessageStatus.RECEIVED if private else MessageStatus.QUEUED,
        created_at=utcnow(),
    )


async def _store(session: AsyncSession, conversation: Conversation, message: Message) -> None:
    session.add(message)
    changed(session, conversation)
    await session.flush()
    record(
        session,
        Event(
            events.MESSAGE_CREATED,
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            data={"message_id": message.id},
        ),
    )
