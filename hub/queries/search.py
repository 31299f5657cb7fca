"""Search conditions: message texts by full-text index, names and addresses by trigram.

Words are `\\w+` runs, so no query syntax of either engine reaches the database from a user.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    false,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import TableClause
from sqlmodel import col

from hub.models import (
    Customer,
    Identity,
    Message,
)

MAX_SEARCH_WORDS = 10


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_FTS = table("messages_fts", column("rowid"), column("messages_fts"))


_NAMES = table("customers_trgm", column("rowid"), column("customers_trgm"))


_ADDRESSES = table("identities_trgm", column("rowid"), column("identities_trgm"))


TRIGRAM = 3  # the trigram tables find texts of at least this many characters


# From this many hits of a search (SQLite), walking conversations newest first beats
# looking up and sorting every hit; below it, a walk could read every conversation.
WALK_FROM_HITS = 2000


def search_words(q: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", q)][:MAX_SEARCH_WORDS]


def _fts_hits(words: list[str]) -> Select[tuple[int]]:
    """Ids of the messages with every word as a word prefix (SQLite's FTS5 table)."""
    match = " ".join(f'"{w}"*' for w in words)
    return select(_FTS.c.rowid).where(_FTS.c.messages_fts.op("MATCH")(match))


def _trigram_hits(fts: TableClause, q: str) -> Select[tuple[int]]:
    phrase = '"' + q.replace('"', '""') + '"'
    return select(fts.c.rowid).where(fts.c[fts.name].op("MATCH")(phrase))


def text_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Messages whose text has every word of `q` (as a word prefix), case-insensitively.

    SQLite: the FTS5 table of migration 0002; PostgreSQL: its GIN tsvector index (the
    expression must stay `to_tsvector('simple', text)` for the index to be used).
    Words are `\\w+` runs, so no query syntax of either engine reaches it from a user.
    """
    words = search_words(q)
    if not words:
        return false()
    if dialect == "sqlite":
        return col(Message.id).in_(_fts_hits(words))
    tsquery = " & ".join(f"{w}:*" for w in words)
    simple: ColumnElement[str] = literal_column("'simple'")
    return func.to_tsvector(simple, col(Message.text)).op("@@")(func.to_tsquery(simple, tsquery))


def name_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Customers whose name has `q` in it, case-insensitively.

    On SQLite the trigram table of migration 0005 narrows it down first (the LIKE then
    only rechecks its candidates); PostgreSQL's trigram index serves the ILIKE itself."""
    like = col(Customer.name).ilike(like_pattern(q), escape="\\")
    if dialect == "sqlite" and len(q) >= TRIGRAM:
        return and_(col(Customer.id).in_(_trigram_hits(_NAMES, q)), like)
    return like


def address_matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Identities whose address has `q` in it, case-insensitively (as `name_matches`)."""
    like = col(Identity.address).ilike(like_pattern(q), escape="\\")
    if dialect == "sqlite" and len(q) >= TRIGRAM:
        return and_(col(Identity.id).in_(_trigram_hits(_ADDRESSES, q)), like)
    return like


async def many_hits(session: AsyncSession, q: str) -> bool:
    """Whether a search on SQLite has at least WALK_FROM_HITS candidate rows (messages,
    names, addresses), each counted only that far: a few index reads, not the search."""
    words = search_words(q)
    candidates = [_fts_hits(words)] if words else []
    if len(q) >= TRIGRAM:
        candidates += [_trigram_hits(_NAMES, q), _trigram_hits(_ADDRESSES, q)]
    total = 0
    for hits in candidates:
        capped = hits.limit(WALK_FROM_HITS - total).subquery()
        total += await session.scalar(select(func.count()).select_from(capped)) or 0
        if total >= WALK_FROM_HITS:
            return True
    return False
