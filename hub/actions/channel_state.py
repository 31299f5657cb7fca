"""What some channels carry beside the text: SMS opt-out, flagged automatic mail, originals.

Called by the router inside its write transaction, set-based (one statement per kind).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.messages import InboundMessage, MailThread
from hub.domain.types import Channel, ConversationStatus, Direction
from hub.models import Conversation, Customer, Identity, Message, MessageSource
from hub.models.base import utcnow
from hub.models.tables import IDENTITIES, MESSAGES, SOURCES

# WhatsApp: free-form replies only within 24 h of the customer's last message (Twilio 63016).
WHATSAPP_WINDOW = timedelta(hours=24)

_SET_OPT_OUT = (
    update(IDENTITIES)
    .where(
        and_(IDENTITIES.c.channel == Channel.SMS.value, IDENTITIES.c.address == bindparam("b_a"))
    )
    .values(opted_out=bindparam("b_v"))
)


async def do_store_channel_state(
    session: AsyncSession, stored: list[tuple[InboundMessage, int]]
) -> None:
    """SMS STOP/START, the automated-mail flag, the unparsed-mail flag (in the message's
    `error`) and mail originals of freshly stored messages."""
    opt = [
        {"b_a": m.address, "b_v": m.sms_opt_out}
        for m, _ in stored
        if m.channel is Channel.SMS and m.sms_opt_out is not None
    ]
    if opt:
        await session.execute(_SET_OPT_OUT, opt)
    automated = [mid for m, mid in stored if m.automated]
    if automated:
        await session.execute(
            update(MESSAGES).where(MESSAGES.c.id.in_(automated)).values(automated=True)
        )
    mails = [(m.mail, mid) for m, mid in stored if m.channel is Channel.EMAIL and m.mail]
    for mail, mid in mails:  # a mail kept as raw text (hub.intake.mail_parsing): the inbox says so
        if mail.unparsed is not None:
            await session.execute(
                update(MESSAGES).where(MESSAGES.c.id == mid).values(error=mail.unparsed[:2000])
            )
    sources = [
        {
            "message_id": mid,
            "subject": mail.subject,
            "reference_ids": " ".join(mail.references) or None,
            "html": mail.html,
            "raw": mail.original,
        }
        for mail, mid in mails
        if mail.original is not None
    ]
    if sources:
        await session.execute(insert(SOURCES), sources)


async def mail_threads(
    session: AsyncSession, batch: list[InboundMessage]
) -> dict[str, tuple[int, str | None, str | None]]:
    """Mail answering a stored mail: dedupe_key → (customer id, name, locale) of the
    customer whose open conversation its In-Reply-To/References name (one query); the
    mail joins that customer's one thread.

    The adapter lists References then In-Reply-To; the latest matching id wins. A resolved
    conversation is not reopened: the mail then goes where the sender's mail would go.
    """
    wanted = {
        m.dedupe_key: m.mail.references
        for m in batch
        if m.channel is Channel.EMAIL and m.mail is not None
    }
    ids = {ref for refs in wanted.values() for ref in refs}
    if not ids:
        return {}
    rows = await session.execute(
        select(
            col(Message.external_id),
            col(Customer.id),
            col(Customer.name),
            col(Customer.locale),
        )
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .join(Customer, col(Customer.id) == col(Conversation.customer_id))
        .where(
            col(Message.channel) == Channel.EMAIL.value,
            col(Message.external_id).in_(ids),
            col(Conversation.status) != ConversationStatus.RESOLVED.value,
            col(Customer.merged_into_id).is_(None),
        )
    )
    known = {ref: (cid, name, locale) for ref, cid, name, locale in rows if cid is not None}
    threads = {}
    for key, refs in wanted.items():
        match = next((known[ref] for ref in reversed(refs) if ref in known), None)
        if match is not None:
            threads[key] = match
    return threads


async def find_message(
    session: AsyncSession,
    channels: list[str],
    external_id: str,
    direction: Direction | None = None,
) -> Message | None:
    """The message a provider knows by this id (Twilio MessageSid, mail Message-ID)."""
    query = select(Message).where(
        col(Message.channel).in_(channels), col(Message.external_id) == external_id
    )
    if direction is not None:
        query = query.where(col(Message.direction) == direction)
    found = await session.scalars(query.order_by(col(Message.id)).limit(1))
    return found.first()


async def sms_opted_out(session: AsyncSession, address: str) -> bool:
    flag = await session.scalar(
        select(col(Identity.opted_out)).where(
            col(Identity.channel) == Channel.SMS.value, col(Identity.address) == address
        )
    )
    return bool(flag)


async def whatsapp_last_inbound(session: AsyncSession, customer_id: int) -> datetime | None:
    """When the customer last wrote on WhatsApp (the 24 h window runs from then)."""
    last: datetime | None = await session.scalar(
        select(col(Message.created_at))
        .where(
            col(Message.customer_id) == customer_id,
            col(Message.channel) == Channel.WHATSAPP.value,
            col(Message.direction) == Direction.INBOUND.value,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return last


def window_open(last: datetime | None, now: datetime | None = None) -> bool:
    """The WhatsApp rule: free-form messages only within 24 h of the customer's last
    WhatsApp message (`last`), at `now` (default: this moment)."""
    return last is not None and (now or utcnow()) - last < WHATSAPP_WINDOW


async def whatsapp_window_open(session: AsyncSession, customer_id: int) -> bool:
    """True within 24 h of the customer's last WhatsApp message."""
    return window_open(await whatsapp_last_inbound(session, customer_id))


@dataclass(frozen=True, slots=True)
class ReplyChannel:
    """A channel the reply box offers, and why a free-form reply cannot leave on it now
    (the same rules do_reply and delivery enforce): `blocked` is None when it can."""

    channel: str
    blocked: str | None = None  # WINDOW_CLOSED or OPTED_OUT
    last_inbound_at: datetime | None = None  # WhatsApp: when the window opened last
    # Only a claimed address on this channel: offered, marked, never the default (SPEC §6).
    claimed: bool = False

    @property
    def since_last(self) -> timedelta | None:
        return None if self.last_inbound_at is None else utcnow() - self.last_inbound_at


WINDOW_CLOSED = "window_closed"
OPTED_OUT = "opted_out"


async def reply_channels(
    session: AsyncSession,
    customer_id: int,
    channels: Iterable[str],
    sms_address: str | None,
    claimed: Collection[str] = (),
) -> list[ReplyChannel]:
    """Each of `channels` with its block, if any; `sms_address` is where an SMS reply
    would go (a number that texted STOP refuses it); `claimed`: channels the customer only
    has claimed addresses on."""
    found = []
    for channel in channels:
        if channel in claimed:
            found.append(ReplyChannel(channel, claimed=True))
            continue
        if channel == Channel.WHATSAPP.value:
            last = await whatsapp_last_inbound(session, customer_id)
            blocked = None if window_open(last) else WINDOW_CLOSED
            found.append(ReplyChannel(channel, blocked, last))
        elif channel == Channel.SMS.value and sms_address is not None:
            opted_out = await sms_opted_out(session, sms_address)
            found.append(ReplyChannel(channel, OPTED_OUT if opted_out else None))
        else:
            found.append(ReplyChannel(channel))
    return found


async def mail_thread(session: AsyncSession, customer_id: int) -> MailThread | None:
    """Headers that keep the customer's mail client threading: their latest inbound mail."""
    row = (
        await session.execute(
            select(
                col(Message.external_id),
                col(MessageSource.subject),
                col(MessageSource.reference_ids),
            )
            .outerjoin(MessageSource, col(MessageSource.message_id) == col(Message.id))
            .where(
                col(Message.customer_id) == customer_id,
                col(Message.channel) == Channel.EMAIL.value,
                col(Message.direction) == Direction.INBOUND.value,
                col(Message.automated).is_(False),
            )
            .order_by(col(Message.id).desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    message_id, subject, references = row
    if not message_id:
        return MailThread(subject=subject or "")
    refs = [r for r in (references or "").split() if r != message_id]
    return MailThread(
        subject=subject or "", in_reply_to=message_id, references=" ".join([*refs, message_id])
    )
