"""Teams, routing rules and each conversation's routing log (issue 16)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Team(SQLModel, table=True):
    """A group of operators; its business hours (JSON, hub.domain.hours) may be empty:
    always open."""

    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    timezone: str = Field(default="UTC", max_length=64)
    hours: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"

    team_id: int = Field(foreign_key="teams.id", primary_key=True)
    operator_id: int = Field(foreign_key="operators.id", primary_key=True, index=True)


class RoutingRule(SQLModel, table=True):
    """One "when ... then ..." rule; `definition` is JSON validated by hub.domain.rules."""

    __tablename__ = "routing_rules"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    enabled: bool = Field(default=True)
    position: int = Field(default=0)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ConversationEvent(SQLModel, table=True):
    """What the automation did to a conversation (assignment, rule, out-of-hours reply, alert),
    shown on the thread's timeline so an operator can see why."""

    __tablename__ = "conversation_events"
    __table_args__ = (Index("ix_conversation_events_conversation", "conversation_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    kind: str = Field(max_length=32)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
