"""Extension points: what a channel adapter and a bot look like to the hub core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from hub.domain.feeds import FeedDelivery, FeedOrder
from hub.domain.messages import DeliveryReceipt, InboundMessage, OutboundMessage
from hub.domain.types import Channel


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A provider's HTTP request, reduced to what verification and parsing need.

    `url` (the URL the provider called: the public base URL, path and query) is built on
    demand: only signature schemes over the URL (Twilio) need it, and building it costs a
    visible share of a webhook's time.
    """

    headers: Mapping[str, str]
    body: bytes
    content_type: str
    full_url: Callable[[], str]

    @property
    def url(self) -> str:
        return self.full_url()


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """The 200 a provider gets once its messages are durably queued: `body` of
    `content_type`, or no body at all (None)."""

    body: str | None = None
    content_type: str = "text/plain"


class SendingAdapter(Protocol):
    """The outbound half of a channel: provider limits are data on the adapter."""

    channel: Channel
    max_text_length: int

    async def send(self, message: OutboundMessage) -> DeliveryReceipt: ...

    async def close(self) -> None: ...


class WebhookAdapter(Protocol):
    """The inbound half of a webhook channel, served at `POST /webhooks/{name}` by one view
    (hub.web.webhooks): verify, then translate (pure, no I/O). How the view speaks to the
    provider is data on the adapter."""

    name: str  # the path under /webhooks/
    content_type: str | None  # the one body type the provider sends (else 415), None: any
    refusal: str  # the message of the 403 a request that fails `verify` gets
    answer: WebhookAnswer

    def verify(self, request: WebhookRequest) -> bool: ...

    def parse(self, request: WebhookRequest, received_at: float) -> list[InboundMessage]:
        """The customer messages in the request (maybe none); InvalidInput when the body
        is not what the provider sends at all (→ 400). `received_at`: time.time() on
        arrival, for the route-latency metric."""
        ...


class UpdatePoller(Protocol):
    """A channel that can be polled instead of calling a webhook (Telegram getUpdates)."""

    async def poll(
        self, offset: int | None, timeout: int, received_at: float
    ) -> tuple[list[InboundMessage], int | None]: ...


class MailboxFailure(Exception):
    """The mail server refused a command or went away; the poller reconnects."""


class MailboxLoginRefused(MailboxFailure):
    """Wrong user or password: retried with backoff, logged as an error."""


class MailboxSession(Protocol):
    """One logged-in session to the support mailbox (IMAP); every call fails fast with
    MailboxFailure when the server goes away, and `lost` is set then."""

    lost: asyncio.Event

    async def open(self) -> bool:
        """Connect, log in, select the mailbox; True when the server can IDLE."""
        ...

    async def unseen(self) -> list[int]: ...

    async def size(self, uid: int) -> int: ...

    async def fetch(self, uid: int) -> bytes | None:
        """The mail exactly as stored, left unseen; None when it was expunged meanwhile."""
        ...

    async def mark_seen(self, uid: int) -> None: ...

    async def noop(self) -> None: ...

    async def idle(self, stopping: asyncio.Event) -> None:
        """Wait until the server reports a change (or its IDLE time ends), or `stopping`."""
        ...

    def take_news(self) -> bool:
        """True once after the server reported a change outside IDLE."""
        ...

    async def close(self) -> None: ...


OpenMailbox = Callable[[], MailboxSession]


class FeedWebhook(Protocol):
    """A shop platform's order feed, served at `POST /webhooks/{name}` (hub.web.feeds):
    verify the signature over the raw body, then translate (pure, no I/O)."""

    name: str  # the path under /webhooks/
    content_type: str | None  # the one body type the platform sends (else 415), None: any

    def verify(self, request: WebhookRequest) -> bool:
        """True for a delivery signed with the shop's secret (or a bare set-up ping that
        carries nothing); False → 401 and nothing stored."""
        ...

    def parse(self, request: WebhookRequest) -> FeedDelivery | None:
        """The order event; None when the delivery carries nothing to store (a ping, a
        topic the hub does not follow, an order without a reachable customer): answered
        200 so the platform neither retries nor disables the hook. InvalidInput when the
        signed body is not what the platform sends (→ 400)."""
        ...


class OrderHistory(Protocol):
    """A platform's stored orders, page by page (a backfill)."""

    async def count(self, days: int) -> int | None:
        """How many orders changed in the last `days` days, when the platform says."""
        ...

    def pages(self, days: int) -> AsyncIterator[tuple[list[FeedOrder], int]]:
        """Each page's usable orders and how many orders the page had in all."""
        ...

    async def close(self) -> None: ...
