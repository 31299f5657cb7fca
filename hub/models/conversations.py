"""One thread per customer across every channel, with its labels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from hub.domain.messages import PREVIEW_CHARS
from hub.models.base import UTCDateTime, utcnow

UNRESOLVED_SQL = "status <> 'resolved'"


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_status_last", "status", "last_message_at", "id"),
        Index("ix_conversations_last", "last_message_at", "id"),
        Index("ix_conversations_assignee", "assignee_id", "status"),
        # One thread per customer (SPEC §6): at most one conversation not resolved, held by
        # the database itself so that concurrent workers cannot open a second one.
        Index(
            "uq_conversations_one_unresolved",
            "customer_id",
            unique=True,
            sqlite_where=text(UNRESOLVED_SQL),
            postgresql_where=text(UNRESOLVED_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    status: str = Field(default="open", max_length=16)
    channel: str = Field(max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="operators.id")
    bot_active: bool = Field(default=True)
    # Customer turns in a row that no bot could answer; the second hands the thread to a person.
    bot_unanswered: int = Field(default=0)
    last_message_text: str | None = Field(default=None, max_length=PREVIEW_CHARS)
    last_message_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    snooze_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # Folded into this conversation by a customer merge; the folded one is kept, resolved.
    merged_into_id: int | None = Field(default=None)
    # Routing (issue 16): the team that handles it and how urgent it is (hub.domain.sla).
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    priority: str = Field(default="normal", max_length=8)
    # The first operator reply (SLA first response); None: not answered yet.
    first_reply_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # Since when the customer waits for a person (None: answered); the waiting alert fires
    # once per wait (`waiting_alerted_at` >= `waiting_since`).
    waiting_since: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    waiting_alerted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # The last out-of-hours reply: one per closed period (hub.domain.hours.closed_since).
    out_of_hours_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # The auto-assigner has placed it (or found it already placed): never routed twice.
    routed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ConversationLabel(SQLModel, table=True):
    __tablename__ = "conversation_labels"

    conversation_id: int = Field(foreign_key="conversations.id", primary_key=True)
    label: str = Field(max_length=64, primary_key=True, index=True)
