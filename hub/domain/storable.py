"""Text a database can hold: NUL and lone surrogates become U+FFFD.

Why: PostgreSQL text cannot hold NUL, and a lone surrogate is no UTF-8 at all; JSON, forms,
mail headers (`=?utf-8?q?Na=00me?=`) and `surrogateescape` decoding can all carry them. An
event the database refuses is retried and dead-lettered after the provider got its 200 or
250, so the message would be lost: every inbound event is cleaned once, when it is queued.
"""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    return UNSTORABLE.sub("\ufffd", text)


def storable(value: object) -> object:
    """`value` with every string in it (dict keys too) cleaned; other values as they are."""
    if isinstance(value, str):
        return UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value
