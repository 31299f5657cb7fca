"""Orders pushed by the shop, with their status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    status: str = Field(max_length=64)
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Decimal strings: money never goes through floats.
    total: str | None = Field(default=None, max_length=32)
    currency: str | None = Field(default=None, max_length=8)
    tracking_url: str | None = Field(default=None, max_length=1000)
    pickup_point: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class OrderStatusChange(SQLModel, table=True):
    __tablename__ = "order_status_history"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    status: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class OrderNotification(SQLModel, table=True):
    """A status the customer was told about: (order, status) is sent at most once."""

    __tablename__ = "order_notifications"
    __table_args__ = (
        UniqueConstraint("order_id", "status", name="uq_order_notifications_order_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id")
    status: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
