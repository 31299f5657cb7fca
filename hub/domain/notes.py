"""Notes on a thread: the kinds of contact an operator records by hand (every contact with a
customer is logged, whatever its channel, also when it happened off-line), and the notes the
hub writes itself, kept as a key and parameters to be read in each operator's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias


class NoteKind(StrEnum):
    PHONE_CALL = "phone_call"
    IN_STORE_VISIT = "in_store_visit"


@dataclass(frozen=True, slots=True)
class Note:
    """A private note the hub writes itself (a bot's reason, a routing action, a handoff):
    kept as a key of the note catalog (`templates/notes/{locale}.json`) and its parameters,
    so each operator reads it in their own language (hub.actions.system_notes)."""

    key: str
    params: Mapping[str, NoteParam] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        """A JSON-able form, as stored (`message_notes.params`)."""
        return {"key": self.key, "params": {k: _param_data(v) for k, v in self.params.items()}}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Note:
        params = data.get("params") or {}
        return cls(str(data["key"]), {str(k): _param_value(v) for k, v in params.items()})


# A note parameter: plain text or a number, shown as it is (names, labels, a bot's own
# words), or notes of their own, rendered in the same language (a routing rule's actions).
NoteParam: TypeAlias = str | int | float | Note | tuple[Note, ...]


def _param_data(value: NoteParam) -> Any:
    if isinstance(value, Note):
        return value.to_data()
    if isinstance(value, tuple):
        return [v.to_data() for v in value]
    return value


def _param_value(data: Any) -> NoteParam:
    if isinstance(data, dict):
        return Note.from_data(data)
    if isinstance(data, list):
        return tuple(Note.from_data(d) for d in data if isinstance(d, dict))
    if isinstance(data, bool) or not isinstance(data, str | int | float):
        return str(data)
    return data
