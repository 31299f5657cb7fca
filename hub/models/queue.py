"""The database queue backend's tables: jobs, partition leases and live consumers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class QueueJob(SQLModel, table=True):
    __tablename__ = "queue_jobs"
    __table_args__ = (
        UniqueConstraint("queue", "dedupe_key", name="uq_queue_jobs_dedupe"),
        Index("ix_queue_jobs_claim", "queue", "partition", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    queue: str = Field(max_length=32)
    partition: int
    payload: str = Field(sa_column=Column(Text, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=300)
    attempts: int = Field(default=0)
    available_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    enqueued_at: float = Field(default=0.0)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class QueueLease(SQLModel, table=True):
    """Which consumer owns a partition: one owner at a time keeps a customer's order."""

    __tablename__ = "queue_leases"

    queue: str = Field(max_length=32, primary_key=True)
    partition: int = Field(primary_key=True)
    owner: str | None = Field(default=None, max_length=128)
    expires_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class QueueConsumer(SQLModel, table=True):
    __tablename__ = "queue_consumers"

    name: str = Field(max_length=128, primary_key=True)
    queue: str = Field(max_length=32, primary_key=True)
    seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class DeadLetter(SQLModel, table=True):
    """A job that failed every retry: kept for an operator, never silently dropped."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    queue: str = Field(max_length=32)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
