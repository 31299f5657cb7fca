"""Notes the hub writes itself, in each operator's language.

A bot's reason, a routing rule's actions, an auto-assignment, a handoff: the hub stores
them as a `Note` (a key of `templates/notes/{locale}.json` and its parameters) in
`message_notes`, beside the message, whose text is the note in English (DEFAULT_LOCALE) for
the REST API, search and anything that reads messages only. The inbox renders the note in
the viewing operator's language at display time, so two operators read the same note in
two languages. A note whose key or parameters the catalog does not know (written by a newer
or older hub) is shown as its stored text.

Rendered text is plain text: parameters (customer words, rule and operator names, a bot's
reason) are substituted as they are, never read as a template, and the inbox escapes the
result like any message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.replies import MAX_REPLY_CHARS, do_add_note
from hub.domain.notes import Note, NoteParam
from hub.domain.types import SenderType
from hub.models import Conversation, Message, MessageNote
from hub.resources import templates_dir

DEFAULT_LOCALE = "en"
NOTE_LOCALES = ("en", "ru")
# Nested notes (a rule's actions) are joined with this.
LIST_SEPARATOR = "; "


class UnknownNote(LookupError):
    """The catalog has no text for this note's key."""


@cache
def catalog(locale: str) -> dict[str, str]:
    path = templates_dir() / "notes" / f"{locale}.json"
    if not path.is_file():
        return {}
    found: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return found


def render_note(locale: str, note: Note) -> str:
    """The note in `locale` (English where that locale lacks the key); UnknownNote,
    KeyError or ValueError when the catalog and the parameters do not fit."""
    template = catalog(locale).get(note.key) or catalog(DEFAULT_LOCALE).get(note.key)
    if template is None:
        raise UnknownNote(note.key)
    return template.format_map({k: _param_text(locale, v) for k, v in note.params.items()})


def _param_text(locale: str, value: NoteParam) -> str | int | float:
    if isinstance(value, Note):
        return render_note(locale, value)
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(render_note(locale, v) for v in value)
    return value


def note_text(locale: str, note: Note, fallback: str) -> str:
    """The note in `locale`, or `fallback` (the stored text) when it cannot be rendered."""
    try:
        return render_note(locale, note)
    except (LookupError, ValueError, TypeError):
        return fallback


def english(note: Note) -> str:
    """The stored text of a note: English, cut to what a message may hold (the key and
    parameters as they are if the catalog cannot render them: nothing is lost)."""
    try:
        text = render_note(DEFAULT_LOCALE, note)
    except (LookupError, ValueError, TypeError):
        text = f"{note.key} {json.dumps(note.to_data()['params'], ensure_ascii=False)}"
    return text[:MAX_REPLY_CHARS]


def _params(note: Note) -> str:
    return json.dumps(note.to_data()["params"], ensure_ascii=False, separators=(",", ":"))


def note_values(message_id: int, note: Note) -> dict[str, object]:
    """The `message_notes` row of `note` as plain values: batch writers insert these by
    Core, without building a model per note."""
    return {"message_id": message_id, "key": note.key[:64], "params": _params(note)}


def note_row(message_id: int, note: Note) -> MessageNote:
    return MessageNote(message_id=message_id, key=note.key[:64], params=_params(note))


async def do_add_system_note(
    session: AsyncSession,
    conversation: Conversation,
    note: Note,
    *,
    sender_type: SenderType = SenderType.SYSTEM,
    channel: str | None = None,
) -> Message:
    """A private note by the hub itself: its English text on the message, its key and
    parameters beside it for the operators' languages."""
    message = await do_add_note(
        session, conversation, english(note), sender_type=sender_type, channel=channel
    )
    session.add(note_row(message.id or 0, note))
    await session.flush()
    return message


async def notes_of(session: AsyncSession, message_ids: Iterable[int | None]) -> dict[int, Note]:
    """The hub's own notes among these messages, by message id (other messages are absent)."""
    ids = [i for i in message_ids if i is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(col(MessageNote.message_id), col(MessageNote.key), col(MessageNote.params)).where(
            col(MessageNote.message_id).in_(ids)
        )
    )
    found: dict[int, Note] = {}
    for message_id, key, params in rows:
        try:
            data = json.loads(params)
        except ValueError:
            continue
        found[int(message_id)] = Note.from_data({"key": key, "params": data})
    return found
