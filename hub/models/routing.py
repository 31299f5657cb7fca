"""Teams and routing rules (issue 16); what they do to a conversation is logged on its thread
as a private system note (hub.actions.routing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
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
