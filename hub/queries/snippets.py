"""Search results show the line that matched: the newest matching message of each
conversation, cut around the first hit, with the searched words marked.

A snippet is a list of (text, hit) parts; the template escapes each part and wraps hits in
`<mark>`, so a customer's text never becomes markup."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import Conversation, Message
from hub.queries.search import search_words, text_matches

Snippet = list[tuple[str, bool]]
CONTEXT_CHARS = 40  # before the first hit
SNIPPET_CHARS = 160


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # Word prefixes, as the full-text search matches them: the whole word is marked.
    return re.compile(rf"(?<!\w)(?:{alternatives})\w*", re.IGNORECASE)


def snippet_of(text: str, q: str) -> Snippet:
    """`text` cut to about SNIPPET_CHARS around its first hit, split into parts."""
    flat = " ".join(text.split())
    pattern = _pattern(search_words(q))
    first = pattern.search(flat) if pattern else None
    start = max(0, first.start() - CONTEXT_CHARS) if first else 0
    if start:
        # Start at a word boundary rather than in the middle of one.
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < (first.start() if first else start) else start
    window = flat[start : start + SNIPPET_CHARS]
    parts: Snippet = [("…", False)] if start else []
    at = 0
    for hit in pattern.finditer(window) if pattern else ():
        if hit.start() > at:
            parts.append((window[at : hit.start()], False))
        parts.append((hit.group(0), True))
        at = hit.end()
    if at < len(window):
        parts.append((window[at:], False))
    if start + SNIPPET_CHARS < len(flat):
        parts.append(("…", False))
    return parts


async def matching_lines(
    session: AsyncSession, conversations: Sequence[Conversation], q: str
) -> dict[int, Snippet]:
    """Per conversation found by its messages' text: a snippet of its newest such message
    (conversations found only by the customer's name or address have none)."""
    ids = [c.id for c in conversations if c.id is not None]
    if not ids or not search_words(q):
        return {}
    dialect = session.get_bind().dialect.name
    newest = (
        select(func.max(col(Message.id)))
        .where(col(Message.conversation_id).in_(ids), text_matches(q, dialect))
        .group_by(col(Message.conversation_id))
    )
    rows = await session.execute(
        select(col(Message.conversation_id), col(Message.text)).where(col(Message.id).in_(newest))
    )
    return {conversation_id: snippet_of(text, q) for conversation_id, text in rows}
