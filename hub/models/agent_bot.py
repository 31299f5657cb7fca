"""The external bot (agent bot API): its API tokens, and the conversations waiting for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class AgentBotToken(SQLModel, table=True):
    """A token the external bot calls the REST API with: stored as its SHA-256 like an
    operator's, but it belongs to no operator and opens only the bot's few routes."""

    __tablename__ = "agent_bot_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # Written at most once a minute per token, like an operator token's.
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class AgentBotWait(SQLModel, table=True):
    """A conversation whose customer waits for the external bot: `since` is the customer's
    oldest message the bot has not answered. The row goes when the bot answers or hands
    off; the timeout chore hands off what waited longer than HUB_AGENT_BOT_TIMEOUT."""

    __tablename__ = "agent_bot_waits"

    conversation_id: int = Field(foreign_key="conversations.id", primary_key=True)
    since: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
