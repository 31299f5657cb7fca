"""Handing a conversation to a person on request; the topic of what no bot answered; the
last word when no bot understood.

The rule "two turns in a row unanswered hand off" is the hub's
(`hub.domain.bots.UNANSWERED_TURNS_BEFORE_HANDOFF`): it applies whichever bot could not help.
"""

from __future__ import annotations

from bots.intents import classify, wants_a_person
from hub.domain.bots import BotContext, BotOutcome, BotText
from hub.domain.notes import Note, NoteParam

# Topics the bots cannot settle themselves (a person must act: cancel, refund, re-send...)
# unless the shop's FAQ answers them (the FAQ bot is asked before `TopicBot`).
TOPICS = frozenset(
    {
        "delivery_time",
        "cancel",
        "return_refund",
        "address_change",
        "payment",
        "damaged_wrong",
        "lost_parcel",
    }
)


class HandoffBot:
    """Asked first: "оператор", "живой человек", "operator", "a real person" and the like."""

    name = "handoff"

    def prepare(self, text: str) -> None:
        """Loads the model and reads `text` off the event loop (`hub.domain.bots.Preparing`)."""
        classify(text)

    async def handle(self, ctx: BotContext) -> BotOutcome:
        asked = wants_a_person(ctx.text)
        if asked is None:
            return BotOutcome.PASSED
        await ctx.handoff(BotText("handoff"), Note("bot.asked_for_person", {"why": asked}))
        return BotOutcome.HANDED_OFF


class TopicBot:
    """Asked after the FAQ: a greeting or thanks gets a short reply; a topic only a person
    can settle (TOPICS) is handed off with the label `intent:{topic}`, so operators see what
    it is about in the list; anything else passes to the fallback."""

    name = "topic"

    async def handle(self, ctx: BotContext) -> BotOutcome:
        intent = classify(ctx.text)
        read: dict[str, NoteParam] = {
            "intent": Note(f"intent.{intent.label}"),
            "confidence": intent.confidence,
        }
        if intent.label in ("greeting", "thanks"):
            await ctx.reply(BotText(f"bot_{intent.label}"), Note("bot.intent", read))
            return BotOutcome.ANSWERED
        if intent.label not in TOPICS:
            return BotOutcome.PASSED
        await ctx.label(f"intent:{intent.label}")
        await ctx.handoff(BotText("handoff"), Note("bot.topic_handoff", read))
        return BotOutcome.HANDED_OFF


class FallbackBot:
    """Asked last: says it did not understand, unless this turn hands off anyway (then the
    hub's handoff text is the answer)."""

    name = "fallback"

    async def handle(self, ctx: BotContext) -> BotOutcome:
        if not ctx.conversation.hands_off_if_unanswered:
            await ctx.reply(BotText("not_understood"), Note("bot.not_understood"))
        return BotOutcome.UNANSWERED
