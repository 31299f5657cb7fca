"""The order-status bot: answers "where is my order" from the customer's own orders only."""

from __future__ import annotations

from typing import Any

from bots.intents import status_question
from hub.domain.bots import BotContext, BotOrder, BotOutcome, BotText

MAX_LISTED = 5


def order_view(order: BotOrder) -> dict[str, Any]:
    """What a template may show of an order."""
    return {
        "number": order.number,
        "status": order.status,
        "since": order.status_since,
        "tracking_url": order.tracking_url,
        "pickup_point": order.pickup_point,
    }


class OrderStatusBot:
    name = "order_status"

    def prepare(self, text: str) -> None:
        """Reads `text` once in a worker thread: the word matching it caches is then a
        cache hit on the event loop (see `hub.domain.bots.Preparing`)."""
        status_question(text)

    async def handle(self, ctx: BotContext) -> BotOutcome:
        question = status_question(ctx.text)
        if question is None:
            return BotOutcome.PASSED
        if question.numbers:
            return await self._one(ctx, question.numbers, question.matched)
        return await self._latest(ctx, question.matched)

    async def _one(self, ctx: BotContext, numbers: tuple[str, ...], matched: str) -> BotOutcome:
        for number in numbers:
            order = await ctx.order(number)
            if order is not None:
                await ctx.reply(
                    BotText("order_status", {"order": order_view(order)}),
                    f"order status: matched '{matched}', order {order.number}",
                )
                return BotOutcome.ANSWERED
        # Someone else's order and no order at all get the very same answer.
        await ctx.reply(
            BotText("order_not_found", {"number": numbers[0]}),
            f"order status: matched '{matched}', order {numbers[0]} not among this customer's",
        )
        return BotOutcome.UNANSWERED

    async def _latest(self, ctx: BotContext, matched: str) -> BotOutcome:
        orders = await ctx.orders()
        if not orders:
            await ctx.reply(
                BotText("no_orders"), f"order status: matched '{matched}', customer has no orders"
            )
            return BotOutcome.UNANSWERED
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
                f"order status: matched '{matched}', {len(open_orders)} open orders listed",
            )
            return BotOutcome.ANSWERED
        order = open_orders[0] if open_orders else orders[0]
        await ctx.reply(
            BotText("order_status", {"order": order_view(order)}),
            f"order status: matched '{matched}', latest order {order.number}",
        )
        return BotOutcome.ANSWERED
