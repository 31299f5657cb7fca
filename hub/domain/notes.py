"""Kinds of contact an operator records by hand: every contact with a customer is logged,
whatever its channel, also when it happened off-line."""

from __future__ import annotations

from enum import StrEnum


class NoteKind(StrEnum):
    PHONE_CALL = "phone_call"
    IN_STORE_VISIT = "in_store_visit"
