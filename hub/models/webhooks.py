"""Outgoing webhooks: a shop's tools subscribed to events, each delivery and its tries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class WebhookSubscription(SQLModel, table=True):
    """A URL that hears the events it chose. The secret signs every delivery, so it is kept
    as it is (a hash could not sign); it is shown once, at creation and at each rotation."""

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: str = Field(max_length=500)  # comma-separated event names
    secret: str = Field(max_length=100)
    enabled: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def event_names(self) -> list[str]:
        return [name for name in self.events.split(",") if name]


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription, written in the transaction of the change it tells
    of (nothing is lost between a commit and a queue); `data` is frozen then, so every try
    sends the same body. `key` is the public delivery id (`X-Hub-Delivery`)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    subscription_id: int = Field(foreign_key="webhook_subscriptions.id")
    event: str = Field(max_length=40)
    data: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery: what the admin page's delivery log shows."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_subscription", "subscription_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_deliveries.id", index=True)
    subscription_id: int = Field(foreign_key="webhook_subscriptions.id")
    event: str = Field(max_length=40)
    attempt: int
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: int = Field(default=0)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
