"""Files that came with a message or went out with one, and where their bytes are kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    __table_args__ = (
        # The fetcher's query: what is pending and due, oldest first.
        Index("ix_attachments_pending", "status", "next_attempt_at"),
        # The orphan-file sweep: which stored files an attachment still names.
        Index("ix_attachments_storage_key", "storage_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=16)  # image, audio, video, document (photo, voice, ...)
    content_type: str | None = Field(default=None, max_length=255)
    filename: str | None = Field(default=None, max_length=255)
    size: int | None = Field(default=None)
    storage_key: str | None = Field(default=None, max_length=128)
    # pending, stored, unavailable, too_large, refused (hub.domain.media.AttachmentStatus)
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The provider's reference: Telegram file_id, Twilio media URL, mime:N of a stored mail.
    provider_ref: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = Field(default=0)
    # Due time of the next fetch; a claimed fetch moves it ahead (a lease that a crash ends).
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
