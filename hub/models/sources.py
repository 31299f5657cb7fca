"""The full original of an inbound mail, kept beside the stored text (the new part only)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel


class MessageSource(SQLModel, table=True):
    __tablename__ = "message_sources"

    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    )
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The mail's References then In-Reply-To ids, space-separated: our reply extends them.
    reference_ids: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Sanitised with nh3 before it was stored: safe to show an operator.
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The mail exactly as it arrived (any charset, 8-bit parts): "view original" serves it.
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
