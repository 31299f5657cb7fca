"""Splitting long replies into provider-sized parts, in order, at natural breaks, and
sending them so that a retry resumes after the parts the provider already accepted."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

from hub.errors import ProviderError

SendPart = Callable[[], Awaitable[str]]


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


async def send_parts(parts: Sequence[SendPart], progress: str | None) -> str | None:
    """Send `parts` in order, skipping those an earlier attempt got accepted; the first
    part's provider id.

    `progress` is what this function put in the ProviderError of that attempt (the hub
    carries it back untouched): `{"sent": N, "first_id": ...}`. The parts of one reply are
    the same on every attempt (split_text and the attachment order are deterministic), so
    "the first N" names the same parts each time.
    """
    sent, first_id = _resume(progress)
    for n, part in enumerate(parts):
        if n < sent:
            continue
        try:
            part_id = await part()
        except ProviderError as exc:
            if sent == 0:
                raise
            raise ProviderError(
                exc.message,
                retryable=exc.retryable,
                retry_after=exc.retry_after,
                progress=json.dumps({"sent": sent, "first_id": first_id}),
            ) from None
        sent += 1
        first_id = first_id or part_id
    return first_id


def _resume(progress: str | None) -> tuple[int, str | None]:
    if not progress:
        return 0, None
    try:
        data = json.loads(progress)
        sent, first_id = int(data["sent"]), data.get("first_id")
    except (ValueError, TypeError, KeyError):
        return 0, None  # not ours: sending again beats losing a part
    return max(sent, 0), first_id if isinstance(first_id, str) else None
