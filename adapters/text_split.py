"""Splitting long replies into provider-sized parts, in order, at natural breaks."""

from __future__ import annotations

from collections.abc import Callable


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, *, measure: str = "chars") -> list[str]:
    """Cut `text` into parts of at most `limit` (code points, or UTF-16 units for Telegram).

    Prefers a paragraph, line or word break in the last fifth of a part, so words stay whole.
    """
    size = utf16_len if measure == "utf16" else len
    parts: list[str] = []
    rest = text
    while size(rest) > limit:
        cut = _fit(rest, limit, size)
        window = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at >= cut * 4 // 5:
                cut = at + len(sep)
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


def _fit(text: str, limit: int, size: Callable[[str], int]) -> int:
    """The longest prefix length within the limit (binary search: UTF-16 is not linear)."""
    measure = size
    lo, hi = 1, min(len(text), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    # Never split a surrogate pair's worth of character: Python strs are code points already.
    return lo
