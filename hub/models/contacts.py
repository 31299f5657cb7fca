"""Side tables about conversations and messages that reports and the timeline read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class MessageNoteKind(SQLModel, table=True):
    """A private note that records a phone call or an in-store visit (hub.domain.notes)."""

    __tablename__ = "message_note_kinds"

    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    )
    kind: str = Field(max_length=16)


class ConversationResolution(SQLModel, table=True):
    """A conversation became resolved: when, and by whom (None: not an operator)."""

    __tablename__ = "conversation_resolutions"
    __table_args__ = (
        Index("ix_conversation_resolutions_at", "resolved_at"),
        Index("ix_conversation_resolutions_conversation", "conversation_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    operator_id: int | None = Field(default=None, foreign_key="operators.id")
    resolved_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
