"""Handing a conversation to a person on request; the last word when no bot understood.

The rule "two turns in a row unanswered hand off" is the hub's
(`hub.domain.bots.UNANSWERED_TURNS_BEFORE_HANDOFF`): it applies whichever bot could not help.
"""

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
    """Asked last: says it did not understand, unless this turn hands off anyway (then the
    hub's handoff text is the answer)."""

    name = "fallback"

    async def handle(self, ctx: BotContext) -> BotOutcome:
        if not ctx.conversation.hands_off_if_unanswered:
            await ctx.reply(BotText("not_understood"), "no bot matched this message")
        return BotOutcome.UNANSWERED
