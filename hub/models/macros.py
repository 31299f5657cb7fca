"""Macros: a named set of steps an operator runs on a thread in one click: a reply (with
the canned responses' variables), labels to add, a status to set, and taking it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, utcnow


class Macro(SQLModel, table=True):
    __tablename__ = "macros"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    # Empty: the macro sends nothing, it only labels, assigns or changes the status.
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # open, pending or resolved; None leaves the status as it is.
    status: str | None = Field(default=None, max_length=16)
    assign_to_me: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
