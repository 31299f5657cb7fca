"""JSON from strangers, decoded with limits on nesting depth and number size.

Why not plain `json.loads`: a body nested 10,000 deep raises RecursionError and a
5,000-digit integer raises a ValueError from `int()` (CPython's 4,300-digit guard) after
the digits were read, and both escaped the callers' `JSONDecodeError` handling as 500s.
Here the depth is checked before any decoding (a byte count, then one scan of the
brackets only when there are many), and numbers are refused by their length as the
decoder meets them, so no value is ever built from a huge literal.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # real Telegram updates and web chat frames nest fewer than 10 levels
MAX_NUMBER_CHARS = 40  # a signed 64-bit id has 20 characters; floats get some room

# A string literal (skipped, brackets inside text do not nest) or one bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class JsonRefused(ValueError):
    """The input is not JSON, or is JSON beyond the limits; `str()` says which."""


def _too_deep(data: bytes, max_depth: int) -> bool:
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False  # the common case: too few brackets to nest that deep at all
    depth = 0
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise JsonRefused(f"a number of {len(literal)} digits is too long")
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise JsonRefused(f"a number of {len(literal)} characters is too long")
    return float(literal)


def decode_json(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded value; JsonRefused (a ValueError) for anything that is not JSON within
    `max_depth` levels of nesting and `MAX_NUMBER_CHARS` per number."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _too_deep(raw, max_depth):
        raise JsonRefused(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(data, parse_int=_int, parse_float=_float)
    except JsonRefused:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise JsonRefused(f"not JSON: {exc}") from None
