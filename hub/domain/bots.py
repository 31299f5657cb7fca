"""The bot port: what a bot sees of the hub and how it acts, with no channel in sight.

Bots (in `bots/`) import this module only. The hub builds a `BotContext` for each customer
message in a conversation that is with the bot, asks its bots in turn, and applies what
they did: a reply, a handoff to a person, or nothing (the next bot is asked).
Texts are named jinja2 templates (`templates/messages/{locale}/{template}.j2`) with
variables: the hub renders them in the customer's locale, so bots never hold customer
texts and never know which channel the answer leaves on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from hub.domain.notes import Note

# A conversation goes to a person after this many customer turns in a row that no bot
# could answer (the hub applies it, whichever bot said it could not help).
UNANSWERED_TURNS_BEFORE_HANDOFF = 2
# Statuses after which an order is no longer "open" (SPEC §5 status names).
CLOSED_ORDER_STATUSES = frozenset({"delivered", "cancelled", "returned"})


@dataclass(frozen=True, slots=True)
class BotCustomer:
    id: int
    name: str | None
    locale: str  # "ru" or "en": the language the answer is written in


@dataclass(frozen=True, slots=True)
class BotStatusChange:
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BotOrder:
    """One of this customer's orders; the hub never hands a bot anyone else's."""

    number: str
    status: str
    tracking_url: str | None
    updated_at: datetime
    history: tuple[BotStatusChange, ...] = ()
    pickup_point: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_ORDER_STATUSES

    @property
    def status_since(self) -> datetime:
        """When the order last changed status."""
        return self.history[-1].at if self.history else self.updated_at


def order_view(order: BotOrder) -> dict[str, Any]:
    """What a message template may show of an order: one view for the bots' answers and
    the hub's status notices, so both templates read the same fields."""
    return {
        "number": order.number,
        "status": order.status,
        "since": order.status_since,
        "tracking_url": order.tracking_url,
        "pickup_point": order.pickup_point,
    }


@dataclass(frozen=True, slots=True)
class BotConversation:
    id: int
    # Customer turns in a row that no bot could answer, before this one.
    unanswered_turns: int = 0

    @property
    def hands_off_if_unanswered(self) -> bool:
        """True when this turn, left unanswered too, hands the conversation to a person:
        the hub then says the handoff text, so a bot that could only say "not understood"
        stays silent."""
        return self.unanswered_turns + 1 >= UNANSWERED_TURNS_BEFORE_HANDOFF


@dataclass(frozen=True, slots=True)
class BotText:
    """A customer-facing text: a template name under `messages/{locale}/` and its variables."""

    template: str
    variables: Mapping[str, Any] = field(default_factory=dict)


class BotOutcome(StrEnum):
    ANSWERED = "answered"  # replied and helped: the unanswered count starts again
    UNANSWERED = "unanswered"  # could not help, replied or not (counts toward handoff)
    HANDED_OFF = "handed_off"  # a person takes over; the bot is silent from now on
    PASSED = "passed"  # not for this bot: the next one is asked


class BotContext(Protocol):
    """What a bot may see and do while handling one customer message."""

    @property
    def text(self) -> str: ...

    @property
    def customer(self) -> BotCustomer: ...

    @property
    def conversation(self) -> BotConversation: ...

    async def orders(self) -> list[BotOrder]:
        """This customer's orders, the most recently updated first."""
        ...

    async def order(self, number: str) -> BotOrder | None:
        """The order with this number if it is this customer's, else None (also when it
        belongs to someone else: the two cases must look the same to the customer)."""
        ...

    async def reply(self, text: BotText, note: str | Note) -> None:
        """Answer the customer; `note` (what was matched) is shown to operators only: a
        `Note` (a key of `templates/notes/`) reads in each operator's language, a plain
        string as it is."""
        ...

    async def handoff(self, text: BotText, note: str | Note) -> None:
        """Say `text`, then leave the conversation to a person (open, unassigned)."""
        ...

    async def label(self, name: str) -> None:
        """Add a label to the conversation (e.g. "intent:return_refund"): operators see
        the topic in the list before they open it. Stored with the turn's answer."""
        ...


class Bot(Protocol):
    name: str

    async def handle(self, ctx: BotContext) -> BotOutcome: ...


@runtime_checkable
class Preparing(Protocol):
    """A bot whose reading of a text is CPU work (fuzzy word matching) may also offer
    `prepare`: the hub calls it in a worker thread before `handle`, with the same text, so
    the work (and the caches it fills) is done there while the event loop keeps serving.
    It must only read and cache; what the bot says is still decided in `handle`."""

    def prepare(self, text: str) -> None: ...
