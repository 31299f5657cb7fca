"""Operators, their API tokens (stored hashed) and canned responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Operator(SQLModel, table=True):
    __tablename__ = "operators"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password_hash: str | None = Field(default=None, max_length=255)
    locale: str = Field(default="en", max_length=8)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # Set: the operator cannot sign in and their sessions and tokens are refused.
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Open conversations auto-assignment may give this operator; None: HUB_AUTO_ASSIGN_CAP.
    auto_assign_cap: int | None = Field(default=None)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="operators.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # Written at most once a minute per token (hub.actions.operators.operator_for_token).
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class CannedResponse(SQLModel, table=True):
    __tablename__ = "canned_responses"

    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(max_length=64, unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class HubSetting(SQLModel, table=True):
    """Values every process must share, such as the generated secret key."""

    __tablename__ = "hub_settings"

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
