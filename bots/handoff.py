"""Handing a conversation to a person: on request, or after two turns no bot could answer."""

from __future__ import annotations

from bots.intents import wants_a_person
from hub.domain.bots import BotContext, BotOutcome, BotText


class HandoffBot:
    """Asked first: 'оператор', 'человек', 'operator', 'agent', 'human' and near forms."""

    name = "handoff"

    def prepare(self, text: str) -> None:
        """Warms the word-matching cache off the event loop (`hub.domain.bots.Preparing`)."""
        wants_a_person(text)

    async def handle(self, ctx: BotContext) -> BotOutcome:
        word = wants_a_person(ctx.text)
        if word is None:
            return BotOutcome.PASSED
        await ctx.handoff(
            BotText("handoff"), f"handoff: the customer asked for a person ('{word}')"
        )
        return BotOutcome.HANDED_OFF


class FallbackBot:
    """Asked last: says it did not understand; the second such turn in a row hands off."""

    name = "fallback"
    turns_before_handoff = 2

    async def handle(self, ctx: BotContext) -> BotOutcome:
        if ctx.conversation.unanswered_turns + 1 >= self.turns_before_handoff:
            await ctx.handoff(
                BotText("handoff"),
                f"handoff: {self.turns_before_handoff} turns in a row the bots could not answer",
            )
            return BotOutcome.HANDED_OFF
        await ctx.reply(BotText("not_understood"), "no bot matched this message")
        return BotOutcome.UNANSWERED
