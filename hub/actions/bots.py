"""The bot runner: after routing, each customer message in a conversation that is with the
bot is offered to the bots in turn, through a `BotContext` built from this database.

Runs inside the routing transaction (the router's `after` hook), so a bot's reply commits
with the message it answers. Outbound jobs of those replies are collected on the session
and enqueued by the consumer once the transaction has committed (`take_outbound_jobs`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed
from hub.actions.orders import order_history
from hub.actions.replies import do_reply
from hub.actions.texts import pick_locale, render
from hub.domain.bots import (
    Bot,
    BotConversation,
    BotCustomer,
    BotOrder,
    BotOutcome,
    BotStatusChange,
    BotText,
)
from hub.domain.types import ConversationStatus, SenderType
from hub.models import Conversation, Customer, Order
from hub.queue.port import NewJob

if TYPE_CHECKING:
    from hub.routing import Routed

log = logging.getLogger(__name__)

_JOBS = "hub.outbound_jobs"
# A conversation stops being answered by bots after this many unanswered turns in a row.
UNANSWERED_TURNS_BEFORE_HANDOFF = 2


def defer_outbound(session: AsyncSession, job: NewJob) -> None:
    """Remember an outbound job to enqueue after this session's transaction commits."""
    session.info.setdefault(_JOBS, []).append(job)


def take_outbound_jobs(session: AsyncSession) -> list[NewJob]:
    jobs: list[NewJob] = session.info.pop(_JOBS, [])
    return jobs


async def load_bot_orders(
    session: AsyncSession, customer_id: int, number: str | None = None
) -> list[BotOrder]:
    """The customer's orders (only theirs), most recently updated first."""
    query = select(Order).where(col(Order.customer_id) == customer_id)
    if number is not None:
        query = query.where(col(Order.number) == number)
    rows = list(
        await session.scalars(query.order_by(col(Order.updated_at).desc(), col(Order.id).desc()))
    )
    history = await order_history(session, [o.id for o in rows if o.id is not None])
    return [
        BotOrder(
            number=o.number,
            status=o.status,
            tracking_url=o.tracking_url,
            updated_at=o.updated_at,
            history=tuple(BotStatusChange(c.status, c.at) for c in history.get(o.id or 0, [])),
            pickup_point=o.pickup_point,
        )
        for o in rows
    ]


@dataclass
class Turn:
    """A `BotContext` for one customer message: reads this customer's data, records acts."""

    session: AsyncSession
    conversation_row: Conversation
    text: str
    customer: BotCustomer
    conversation: BotConversation
    handed_off: bool = False

    async def orders(self) -> list[BotOrder]:
        return await load_bot_orders(self.session, self.customer.id)

    async def order(self, number: str) -> BotOrder | None:
        found = await load_bot_orders(self.session, self.customer.id, number.strip())
        return found[0] if found else None

    async def reply(self, text: BotText, note: str) -> None:
        body = render(self.customer.locale, text.template, text.variables)
        _message, job = await do_reply(
            self.session, self.conversation_row, body, sender_type=SenderType.BOT
        )
        if job is not None:
            defer_outbound(self.session, job)
        if note:
            # What the bot matched, for operators only: a private note, never sent.
            await do_reply(
                self.session,
                self.conversation_row,
                f"🤖 {note}"[:2000],
                sender_type=SenderType.BOT,
                private=True,
            )

    async def handoff(self, text: BotText, note: str) -> None:
        await self.reply(text, note)
        do_hand_to_person(self.session, self.conversation_row)
        self.handed_off = True


def do_hand_to_person(session: AsyncSession, conversation: Conversation) -> None:
    """The bot falls silent; the conversation waits, open, for an operator to take it."""
    conversation.bot_active = False
    conversation.bot_unanswered = 0
    conversation.status = ConversationStatus.OPEN
    changed(session, conversation)


class BotRunner:
    """The router's after-hook: offers each routed customer message to the bots in order."""

    def __init__(self, bots: Sequence[Bot]) -> None:
        self.bots = list(bots)

    async def __call__(self, session: AsyncSession, routed: list[Routed]) -> None:
        if not self.bots or not routed:
            return
        # Auto-replies and SMS STOP/START keywords are for the hub, not a conversation.
        candidates = [
            r
            for r in routed
            if not r.inbound.extra.get("automated") and "sms_opt_out" not in r.inbound.extra
        ]
        wanted = {r.conversation_id for r in candidates}
        with_bot = set(
            await session.scalars(
                select(col(Conversation.id)).where(
                    col(Conversation.id).in_(wanted), col(Conversation.bot_active).is_(True)
                )
            )
        )
        for item in candidates:
            if item.conversation_id in with_bot and item.inbound.text.strip():
                await self._answer(session, item)
                await asyncio.sleep(0)  # a big batch never holds the event loop for long

    async def _answer(self, session: AsyncSession, item: Routed) -> None:
        conversation = await session.get(Conversation, item.conversation_id)
        customer = await session.get(Customer, item.customer_id)
        if conversation is None or customer is None or not conversation.bot_active:
            return  # handed off by an earlier message of this batch
        turn = Turn(
            session,
            conversation,
            item.inbound.text,
            BotCustomer(
                customer.id or 0, customer.name, pick_locale(customer.locale, item.inbound.text)
            ),
            BotConversation(conversation.id or 0, conversation.bot_unanswered),
        )
        outcome = await self._ask_bots(turn)
        if outcome is BotOutcome.ANSWERED:
            conversation.bot_unanswered = 0
        elif outcome is BotOutcome.UNANSWERED and not turn.handed_off:
            conversation.bot_unanswered += 1
            if conversation.bot_unanswered >= UNANSWERED_TURNS_BEFORE_HANDOFF:
                await turn.handoff(
                    BotText("handoff"),
                    f"handoff: {UNANSWERED_TURNS_BEFORE_HANDOFF} turns in a row unanswered",
                )
        session.add(conversation)

    async def _ask_bots(self, turn: Turn) -> BotOutcome:
        for bot in self.bots:
            try:
                outcome = await bot.handle(turn)
            except SQLAlchemyError:
                raise  # the database is away or the batch is bad: the consumer retries it
            except Exception:
                log.exception("bot %s failed on conversation %s", bot.name, turn.conversation.id)
                continue
            if outcome is not BotOutcome.PASSED:
                return outcome
        return BotOutcome.PASSED
