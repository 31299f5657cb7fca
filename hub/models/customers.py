"""A customer (the person) apart from each channel address they write from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, max_length=16)
    # Set by an operator or the API; otherwise derived from the latest inbound channel.
    preferred_channel: str | None = Field(default=None, max_length=16)
    last_inbound_channel: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_activity_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    merged_into_id: int | None = Field(default=None, foreign_key="customers.id", index=True)


class Identity(SQLModel, table=True):
    """`(channel, address)` belongs to exactly one customer."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_identities_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    verified: bool = Field(default=True)
    # A web chat visitor who proved (identity_hash) to be this customer sees the whole thread.
    sees_whole_thread: bool = Field(default=False)
    # SMS: the number texted STOP (or another opt-out keyword); nothing is sent until START.
    opted_out: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
