"""Order feeds: what a shop platform (Shopify, WooCommerce) tells the hub about an order.

A feed adapter (adapters/shopify.py, adapters/woocommerce.py) verifies a signed delivery
and turns it into one `FeedDelivery` (pure, no I/O); the webhook view queues it durably and
the feed consumer applies it (hub.actions.feeds). The hub's order statuses are the SPEC's
(`created`, `processing`, `shipped`, `in_transit`, `ready_for_pickup`, `delivered`,
`cancelled`, `returned`); each adapter documents how its platform's states map onto them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FeedKind(StrEnum):
    ORDER = "order"  # the whole order as the platform holds it now
    FULFILLMENT = "fulfillment"  # one shipment of an order the hub knows by `source_id`
    DELETED = "deleted"  # the shop deleted the order: the hub keeps it, cancelled


@dataclass(frozen=True, slots=True)
class FeedItem:
    name: str
    qty: int
    sku: str | None = None
    price: str | None = None  # a decimal string, as the platform sent it


@dataclass(frozen=True, slots=True)
class FeedOrder:
    """One order event. `source_id` is the platform's own order id (a fulfillment or a
    deletion names only that); `number` is what the customer sees and asks the bot about.
    `status` None: the event does not move the status (a failed shipment, say).
    `updated_at`: the platform's time of this state (ISO 8601), so an older event arriving
    late never overwrites a newer one; None: always applied."""

    source: str
    source_id: str
    kind: FeedKind = FeedKind.ORDER
    number: str | None = None
    status: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    items: tuple[FeedItem, ...] | None = None
    total: str | None = None
    currency: str | None = None
    tracking_url: str | None = None
    updated_at: str | None = None

    @property
    def key(self) -> str:
        """One order's events share a queue partition: applied in arrival order."""
        return f"{self.source}:{self.source_id}"


@dataclass(frozen=True, slots=True)
class FeedDelivery:
    """A verified delivery: the platform's delivery id (its retries repeat it) and the
    order event it carries. The job payload of the `feeds` queue."""

    delivery_id: str
    order: FeedOrder
    topic: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # never branched on: logs only

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, payload: str) -> FeedDelivery:
        data = json.loads(payload)
        order = dict(data["order"])
        items = order.get("items")
        order["items"] = None if items is None else tuple(FeedItem(**item) for item in items)
        order["kind"] = FeedKind(order.get("kind", FeedKind.ORDER))
        return cls(
            delivery_id=data["delivery_id"],
            order=FeedOrder(**order),
            topic=data.get("topic", ""),
            extra=data.get("extra") or {},
        )
