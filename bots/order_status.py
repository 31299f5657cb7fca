"""The order-status bot: answers "where is my order" from the customer's own orders only.

The intent model (bots/intents.py) says whether a message asks for an order's status; the
order numbers it names are read by rules (bots/entities.py): the customer's own numbers even
written bare, any other only after "#", "№" or an order word. A number that is not the
customer's gets the same answer as no such order at all.
"""

from __future__ import annotations

import re

from bots.entities import order_numbers
from bots.intents import classify
from hub.domain.bots import BotContext, BotOutcome, BotText, order_view
from hub.domain.notes import Note

MAX_LISTED = 5
_BARE_NUMBER = re.compile(r"\W*(?:order|заказ|zakaz)?\W*[a-z]{0,4}-?\d[\d-]*\W*", re.IGNORECASE)


class OrderStatusBot:
    name = "order_status"

    def prepare(self, text: str) -> None:
        """Reads `text` once in a worker thread: the model is loaded and the word features
        cached there, not on the event loop (see `hub.domain.bots.Preparing`)."""
        classify(text)

    async def handle(self, ctx: BotContext) -> BotOutcome:
        intent = classify(ctx.text)
        if intent.label != "order_status":
            return await self._picked(ctx)
        matched = Note("order.matched_intent", {"confidence": intent.confidence})
        orders = await ctx.orders()
        numbers = order_numbers(ctx.text, [o.number for o in orders])
        if numbers:
            return await self._one(ctx, numbers, matched, bool(orders))
        return await self._latest(ctx, matched)

    async def _picked(self, ctx: BotContext) -> BotOutcome:
        """A bare number that is one of the customer's own orders ("3002", picked from the
        list the bot showed): its status. Any other bare number is not a question here."""
        if not _BARE_NUMBER.fullmatch(ctx.text):
            return BotOutcome.PASSED
        orders = await ctx.orders()
        numbers = order_numbers(ctx.text, [o.number for o in orders])
        own = {o.number for o in orders}
        if not numbers or numbers[0] not in own:
            return BotOutcome.PASSED
        return await self._one(ctx, numbers, Note("order.matched_number"), True)

    async def _one(
        self, ctx: BotContext, numbers: tuple[str, ...], matched: Note, has_orders: bool
    ) -> BotOutcome:
        for number in numbers:
            order = await ctx.order(number)
            if order is not None:
                await ctx.reply(
                    BotText("order_status", {"order": order_view(order)}),
                    Note("order.found", {"matched": matched, "number": order.number}),
                )
                return BotOutcome.ANSWERED
        if not has_orders:
            asked = Note("order.asked_number", {"number": numbers[0]})
            return await self._sign_in(ctx, matched, asked)
        # Someone else's order and no order at all get the very same answer.
        await ctx.reply(
            BotText("order_not_found", {"number": numbers[0]}),
            Note("order.not_theirs", {"matched": matched, "number": numbers[0]}),
        )
        return BotOutcome.UNANSWERED

    async def _sign_in(self, ctx: BotContext, matched: Note, asked: Note) -> BotOutcome:
        """No order is known to be this customer's (an anonymous or claimed visitor, or an
        address no order names): how to be recognised, never "not among your orders", which
        would be wrong about a real order and would tell a stranger which numbers exist."""
        await ctx.reply(
            BotText("order_sign_in"),
            Note("order.sign_in", {"matched": matched, "asked": asked}),
        )
        return BotOutcome.UNANSWERED

    async def _latest(self, ctx: BotContext, matched: Note) -> BotOutcome:
        orders = await ctx.orders()
        if not orders:
            return await self._sign_in(ctx, matched, Note("order.asked_latest"))
        open_orders = [o for o in orders if o.is_open]
        if len(open_orders) > 1:
            shown = open_orders[:MAX_LISTED]
            await ctx.reply(
                BotText(
                    "order_list",
                    {
                        "orders": [order_view(o) for o in shown],
                        "more": len(open_orders) > len(shown),
                    },
                ),
                Note("order.listed", {"matched": matched, "count": len(open_orders)}),
            )
            return BotOutcome.ANSWERED
        order = open_orders[0] if open_orders else orders[0]
        await ctx.reply(
            BotText("order_status", {"order": order_view(order)}),
            Note("order.latest", {"matched": matched, "number": order.number}),
        )
        return BotOutcome.ANSWERED
