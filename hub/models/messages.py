"""Messages of a conversation, inbound and outbound, with their delivery status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        # Idempotency in one place: one provider event is stored once.
        UniqueConstraint("channel", "dedupe_key", name="uq_messages_channel_dedupe"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_external", "channel", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    customer_id: int = Field(foreign_key="customers.id", index=True)
    direction: str = Field(max_length=8)
    sender_type: str = Field(max_length=8)
    operator_id: int | None = Field(default=None, foreign_key="operators.id")
    channel: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    private: bool = Field(default=False)
    status: str = Field(max_length=12)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, max_length=255)
    dedupe_key: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=320)
    # An auto-reply, bounce or bulk mail: stored and shown, never answered (by bot or anyone).
    automated: bool = Field(default=False)
    # A WhatsApp Content template (HX...) sent instead of the text, outside the 24 h window.
    content_sid: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
