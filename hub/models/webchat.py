"""When each web chat visitor last had a socket open (SPEC §4): a reply sent after that
moment was never seen live, and the worker may email it (hub.chores.webchat_mail)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime


class WebchatPresence(SQLModel, table=True):
    __tablename__ = "webchat_presence"

    # The visitor id (`v_...`), the address of their web chat identity.
    visitor_id: str = Field(primary_key=True, max_length=320)
    # Written when a socket opens, when a reply is pushed to it and when it closes (for a
    # visitor who has written: an anonymous page view writes nothing): a socket open at any
    # moment since a reply was sent has a later stamp than the reply.
    seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
