"""Opaque cursors for keyset pages: the sort key of the last row a page showed."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from hub.errors import InvalidInput

_BAD = "the cursor is not valid; use next_cursor of the previous page"


def encode(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput(_BAD) from None
    if not isinstance(key, list):
        raise InvalidInput(_BAD)
    return key


def _valid_id(value: Any) -> int:
    if type(value) is not int or not 0 < value < 2**31:
        raise InvalidInput(_BAD)
    return value


def time_and_id(at: datetime, row_id: int | None) -> str:
    return encode([at.isoformat(), row_id])


def decode_time_and_id(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None:
        return None
    key = _decode(cursor)
    if len(key) != 2 or not isinstance(key[0], str):
        raise InvalidInput(_BAD)
    try:
        at = datetime.fromisoformat(key[0])
    except ValueError:
        raise InvalidInput(_BAD) from None
    if at.tzinfo is None:
        raise InvalidInput(_BAD)
    return at, _valid_id(key[1])


def after_id(row_id: int | None) -> str:
    return encode([row_id])


def decode_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    key = _decode(cursor)
    if len(key) != 1:
        raise InvalidInput(_BAD)
    return _valid_id(key[0])
