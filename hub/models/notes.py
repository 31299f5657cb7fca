"""The hub's own notes as a key and parameters (hub.domain.notes.Note), beside the message
that holds their English text: the inbox shows each operator the note in their language."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel


class MessageNote(SQLModel, table=True):
    __tablename__ = "message_notes"

    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    )
    key: str = Field(max_length=64)
    # The parameters as JSON (Note.to_data()["params"]): names, labels, numbers, nested notes.
    params: str = Field(sa_column=Column(Text, nullable=False))
