"""Customer satisfaction: one question per resolution, and the customer's 1–5 answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class CsatRating(SQLModel, table=True):
    """Asked when an operator resolved the conversation (`resolution_id`, unique: once per
    resolution); `rating` and `answered_at` stay empty until the customer answers."""

    __tablename__ = "csat_ratings"
    __table_args__ = (
        Index("ix_csat_ratings_customer", "customer_id", "asked_at"),
        Index("ix_csat_ratings_conversation", "conversation_id"),
        Index("ix_csat_ratings_answered_at", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    customer_id: int = Field(foreign_key="customers.id")
    resolution_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("conversation_resolutions.id"), nullable=False, unique=True
        )
    )
    # The assignee when the conversation was resolved, else the operator who resolved it.
    operator_id: int | None = Field(default=None, foreign_key="operators.id")
    channel: str = Field(max_length=16)
    # The question as stored in the thread (its send is an ordinary outbound message).
    question_id: int | None = Field(default=None, foreign_key="messages.id")
    rating: int | None = None
    asked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # A reply after this is an ordinary message (HUB_CSAT_WINDOW_HOURS when asked).
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
