"""Order feeds: the deliveries already applied, and which platform order is which hub order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class FeedDelivery(SQLModel, table=True):
    """A platform's delivery id, kept once applied: its retries change nothing (the queue's
    own de-duplication forgets a job once it is done; this never does)."""

    __tablename__ = "feed_deliveries"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id", name="uq_feed_deliveries_source_delivery"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    delivery_id: str = Field(max_length=255)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class FeedOrderLink(SQLModel, table=True):
    """The platform's own order id → the hub's order: a fulfillment or a deletion names
    only that id. `source_updated_at`: the platform's time of the state applied last, so a
    late, older delivery never moves the order back."""

    __tablename__ = "feed_orders"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_feed_orders_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    source_id: str = Field(max_length=64)
    order_id: int = Field(foreign_key="orders.id", index=True)
    source_updated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
