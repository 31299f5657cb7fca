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
    # Proven (True) or claimed (False), SPEC §6: only proof links, merges or is picked.
    verified: bool = Field(default=True)
    # A claim an operator confirmed: who and when (proof by a person, kept for the record).
    confirmed_by_id: int | None = Field(default=None)
    confirmed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # A web chat visitor who proved (identity_hash) to be this customer sees the whole thread.
    sees_whole_thread: bool = Field(default=False)
    # SMS: the number texted STOP (or another opt-out keyword); nothing is sent until START.
    opted_out: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class MergeSuggestion(SQLModel, table=True):
    """Two customers who may be one person: `customer_id` claimed an address `owner_id` holds.

    A claim never merges (SPEC §6): it leaves this for an operator to accept (merge) or
    dismiss; both cards show it until then.
    """

    __tablename__ = "merge_suggestions"
    __table_args__ = (
        UniqueConstraint(
            "customer_id", "owner_id", "channel", "address", name="uq_merge_suggestions_claim"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    owner_id: int = Field(foreign_key="customers.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=320)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # Settled: accepted (the two were merged) or dismissed, by whom and when.
    outcome: str | None = Field(default=None, max_length=16)
    settled_by_id: int | None = Field(default=None)
    settled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class CustomerEvent(SQLModel, table=True):
    """The customer's timeline: each link, merge, claim, confirmation and dismissal, with
    who did it (`operator_id`) or which rule (`rule`), and when."""

    __tablename__ = "customer_events"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    kind: str = Field(max_length=32)
    channel: str | None = Field(default=None, max_length=16)
    address: str | None = Field(default=None, max_length=320)
    other_customer_id: int | None = Field(default=None)
    operator_id: int | None = Field(default=None)
    rule: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
