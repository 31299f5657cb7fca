"""Customer satisfaction (CSAT): the 1–5 question asked when an operator resolves a
conversation, and the customer's answer, once per resolution.

The question is an ordinary system reply on the conversation's channel (web chat shows it
as five buttons). An answer counts only from the address the question went to, by the
customer it was asked of, before `expires_at`, and only once: anything else is an
ordinary message (hub.routing decides which inbound text is an answer).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed
from hub.actions.replies import do_reply
from hub.actions.texts import pick_locale, render
from hub.domain.csat import HIGHEST, LOWEST, parse_rating
from hub.domain.messages import InboundMessage
from hub.domain.types import Channel, ConversationStatus, Direction, SenderType
from hub.errors import InvalidInput, NotFound, WindowClosed
from hub.models import (
    Conversation,
    ConversationResolution,
    CsatRating,
    Customer,
    Identity,
    Message,
)
from hub.models.base import utcnow
from hub.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CsatPolicy:
    """HUB_CSAT and HUB_CSAT_WINDOW_HOURS, as the actions need them."""

    enabled: bool
    window_hours: float = 72.0


def csat_policy(settings: Settings) -> CsatPolicy:
    return CsatPolicy(settings.csat, settings.csat_window_hours)


async def _locale(session: AsyncSession, customer_id: int) -> str:
    customer = await session.get(Customer, customer_id)
    last = await session.scalar(
        select(col(Message.text))
        .where(
            col(Message.customer_id) == customer_id,
            col(Message.direction) == Direction.INBOUND,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return pick_locale(customer.locale if customer else None, last)


async def do_ask_after_status(
    session: AsyncSession,
    conversation: Conversation,
    was: str,
    *,
    by: int | None,
    policy: CsatPolicy,
) -> CsatRating | None:
    """Ask for a rating when an operator (`by`) just resolved `conversation`: not on a
    resolve by the hub itself (a merge fold), not twice for one resolution."""
    if (
        not policy.enabled
        or by is None
        or was == ConversationStatus.RESOLVED
        or conversation.status != ConversationStatus.RESOLVED
        or conversation.merged_into_id is not None
    ):
        return None
    await session.flush()
    resolution_id = await session.scalar(
        select(col(ConversationResolution.id))
        .where(col(ConversationResolution.conversation_id) == conversation.id)
        .order_by(col(ConversationResolution.id).desc())
        .limit(1)
    )
    if resolution_id is None:
        return None
    asked = await session.scalar(
        select(col(CsatRating.id)).where(col(CsatRating.resolution_id) == resolution_id)
    )
    if asked is not None:
        return None
    return await _ask(session, conversation, resolution_id, by, policy)


async def _ask(
    session: AsyncSession,
    conversation: Conversation,
    resolution_id: int,
    by: int,
    policy: CsatPolicy,
) -> CsatRating | None:
    channel = conversation.channel
    locale = await _locale(session, conversation.customer_id)
    text = render(locale, "csat_question", {"channel": channel})
    try:
        question = await do_reply(
            session, conversation, text, sender_type=SenderType.SYSTEM, channel=channel
        )
    except (InvalidInput, WindowClosed) as exc:
        # No address on that channel any more, or WhatsApp's window closed: not asked.
        log.info("conversation %s: CSAT not asked: %s", conversation.id, exc)
        return None
    now = utcnow()
    rating = CsatRating(
        conversation_id=conversation.id,  # type: ignore[arg-type]
        customer_id=conversation.customer_id,
        resolution_id=resolution_id,
        operator_id=conversation.assignee_id or by,
        channel=channel,
        question_id=question.id,
        asked_at=now,
        expires_at=now + timedelta(hours=policy.window_hours),
    )
    session.add(rating)
    await session.flush()
    log.info("CSAT asked", extra={"conversation_id": conversation.id, "csat_id": rating.id})
    return rating


async def pending_for(
    session: AsyncSession, customer_id: int, channel: str, address: str, now: datetime
) -> CsatRating | None:
    """The latest unanswered question to this customer at this very address, still open."""
    rows = await session.scalars(
        select(CsatRating)
        .join(Message, col(Message.id) == col(CsatRating.question_id))
        .where(
            col(CsatRating.customer_id) == customer_id,
            col(CsatRating.channel) == channel,
            col(CsatRating.rating).is_(None),
            col(CsatRating.expires_at) > now,
            col(Message.address) == address,
        )
        .order_by(col(CsatRating.id).desc())
        .limit(1)
    )
    return rows.first()


async def pending_answers(
    session: AsyncSession, candidates: Iterable[tuple[int, str, str]]
) -> dict[tuple[int, str, str], CsatRating]:
    """For (customer, channel, address) triples: the open question each would answer."""
    now = utcnow()
    found: dict[tuple[int, str, str], CsatRating] = {}
    for key in set(candidates):
        pending = await pending_for(session, *key, now)
        if pending is not None:
            found[key] = pending
    return found


async def do_record_rating(
    session: AsyncSession, rating: CsatRating, value: int, *, thank: bool = True
) -> Message | None:
    """Store the answer and thank the customer once, on the channel they answered on."""
    if not LOWEST <= value <= HIGHEST:
        raise InvalidInput(f"a rating is a whole number from {LOWEST} to {HIGHEST}")
    if rating.rating is not None:
        raise InvalidInput("this conversation has already been rated")
    rating.rating = value
    rating.answered_at = utcnow()
    session.add(rating)
    conversation = await session.get(Conversation, rating.conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {rating.conversation_id} not found")
    changed(session, conversation)  # the inbox shows "Rated N/5" in the thread
    await session.flush()
    log.info(
        "CSAT answered",
        extra={"conversation_id": conversation.id, "csat_id": rating.id, "rating": value},
    )
    if not thank:
        return None
    locale = await _locale(session, rating.customer_id)
    text = render(locale, "csat_thanks", {"rating": value})
    try:
        return await do_reply(
            session, conversation, text, sender_type=SenderType.SYSTEM, channel=rating.channel
        )
    except (InvalidInput, WindowClosed) as exc:
        log.info("conversation %s: CSAT thanks not sent: %s", conversation.id, exc)
        return None


async def question_of(session: AsyncSession, message_id: int | None) -> CsatRating | None:
    """The rating whose question `message_id` is, if it is one."""
    if message_id is None:
        return None
    rows = await session.scalars(
        select(CsatRating).where(col(CsatRating.question_id) == message_id)
    )
    return rows.first()


async def visitor_customer(session: AsyncSession, visitor_id: str) -> int | None:
    return await session.scalar(
        select(col(Identity.customer_id)).where(
            col(Identity.channel) == Channel.WEBCHAT.value,
            col(Identity.address) == visitor_id,
        )
    )


async def pending_in_widget(session: AsyncSession, visitor_id: str) -> CsatRating | None:
    """The open question this web chat visitor was asked, if any."""
    customer_id = await visitor_customer(session, visitor_id)
    if customer_id is None:
        return None
    return await pending_for(session, customer_id, Channel.WEBCHAT.value, visitor_id, utcnow())


async def do_rate_in_widget(
    session: AsyncSession, visitor_id: str, value: int, conversation_id: int | None
) -> CsatRating:
    """A star button in the widget: only the visitor's own open question is answered."""
    pending = await pending_in_widget(session, visitor_id)
    if pending is None or (
        conversation_id is not None and pending.conversation_id != conversation_id
    ):
        raise NotFound("there is no rating question open for this chat")
    await do_record_rating(session, pending, value)
    return pending


def rating_in(message: InboundMessage) -> int | None:
    """The rating an inbound message is, if it is nothing else (no files, not automatic)."""
    if message.attachments or message.automated or message.sms_opt_out is not None:
        return None
    return parse_rating(message.text)


async def answers_in_batch(
    session: AsyncSession,
    placed: Iterable[tuple[InboundMessage, int]],
    unresolved: Collection[int],
) -> dict[tuple[str, str], tuple[CsatRating, int]]:
    """The messages of a routed batch (with their customer) that answer an open question:
    dedupe key → (question, rating). A customer with an unresolved conversation is talking
    in it, so their "5" is a message there; a question is answered by one message only."""
    candidates = [
        (message, customer_id, value)
        for message, customer_id in placed
        if customer_id not in unresolved and (value := rating_in(message)) is not None
    ]
    if not candidates:
        return {}
    open_questions = await pending_answers(
        session, ((c, m.channel.value, m.address) for m, c, _ in candidates)
    )
    answers: dict[tuple[str, str], tuple[CsatRating, int]] = {}
    taken: set[int] = set()
    for message, customer_id, value in candidates:
        question = open_questions.get((customer_id, message.channel.value, message.address))
        if question is not None and question.id not in taken:
            taken.add(question.id or 0)
            answers[(message.channel.value, message.dedupe_key)] = (question, value)
    return answers
