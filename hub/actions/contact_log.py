"""Phone calls and in-store visits, logged by an operator on the customer's timeline.

Every contact with a customer is recorded, whatever its channel: an off-line contact is a
private note (never sent anywhere) marked with its kind in a side table keyed by message id.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.replies import do_add_note
from hub.domain.notes import NoteKind
from hub.errors import InvalidInput
from hub.models import Conversation, Message, MessageNoteKind


def check_note_kind(kind: str) -> NoteKind:
    try:
        return NoteKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in NoteKind)
        raise InvalidInput(f"a logged contact is one of: {allowed}") from None


async def do_log_contact(
    session: AsyncSession,
    conversation: Conversation,
    kind: str,
    text: str,
    *,
    operator_id: int | None,
) -> Message:
    """Store the call or visit as a private note of `kind`: checked first, nothing is sent."""
    note_kind = check_note_kind(kind)
    message = await do_add_note(session, conversation, text, operator_id=operator_id)
    session.add(MessageNoteKind(message_id=message.id, kind=note_kind.value))  # type: ignore[arg-type]
    await session.flush()
    return message


async def note_kinds(session: AsyncSession, message_ids: Iterable[int | None]) -> dict[int, str]:
    """The kind of each logged call or visit among these messages (plain notes are absent)."""
    ids = [i for i in message_ids if i is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(col(MessageNoteKind.message_id), col(MessageNoteKind.kind)).where(
            col(MessageNoteKind.message_id).in_(ids)
        )
    )
    return {message_id: kind for message_id, kind in rows}
