"""Operator browser sessions (the inbox) and what each operator has read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class OperatorSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "operator_sessions"

    id_hash: str = Field(max_length=64, primary_key=True)
    operator_id: int = Field(foreign_key="operators.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # created_at + HUB_SESSION_MAX_HOURS; the idle end is last_seen_at + HUB_SESSION_IDLE_MINUTES.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    last_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ConversationRead(SQLModel, table=True):
    """When an operator last opened a conversation: newer activity shows it as unread."""

    __tablename__ = "conversation_reads"

    operator_id: int = Field(foreign_key="operators.id", primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", primary_key=True)
    read_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
