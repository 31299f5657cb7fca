"""Serialising changes to who a customer is: merges, links and the router's write phase.

A merge that races an inbound message could otherwise fold a conversation while the router
stores a message into it. Both take the customers' row locks first and read what they
decide on only after: PostgreSQL with `SELECT ... FOR NO KEY UPDATE` (in id order, so two lockers
never deadlock); SQLite with a first write, which takes its single write lock and starts
the transaction on the latest snapshot (pysqlite begins a transaction only at a write, so
reads made before it may be stale).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models.tables import CUSTOMERS

_TAKE_SQLITE_WRITE_LOCK = update(CUSTOMERS).where(CUSTOMERS.c.id == -1).values(name=None)


async def lock_customers(
    session: AsyncSession, customer_ids: Iterable[int]
) -> dict[int, int | None]:
    """Lock these customers' rows; returns each one's `merged_into_id` as it now stands."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(_TAKE_SQLITE_WRITE_LOCK)
        query = select(CUSTOMERS.c.id, CUSTOMERS.c.merged_into_id)
    else:
        # NO KEY UPDATE: it excludes other lockers (routers, merges) but not the foreign
        # key checks of rows that merely point at a customer (a reply's message insert),
        # which a plain FOR UPDATE would block, deadlocking with the reply's own locks.
        query = select(CUSTOMERS.c.id, CUSTOMERS.c.merged_into_id).with_for_update(key_share=True)
    rows = await session.execute(query.where(CUSTOMERS.c.id.in_(ids)).order_by(CUSTOMERS.c.id))
    return {int(cid): merged for cid, merged in rows}


async def surviving_ids(session: AsyncSession, customer_ids: Iterable[int]) -> dict[int, int]:
    """Lock the customers and map each id to the customer it now is (merges followed)."""
    wanted = set(customer_ids)
    merged_into = await lock_customers(session, wanted)
    result: dict[int, int] = {}
    for cid in wanted:
        current, seen = cid, set()
        while merged_into.get(current) is not None and current not in seen:
            seen.add(current)
            current = int(merged_into[current])  # type: ignore[arg-type]
            if current not in merged_into:
                merged_into.update(await lock_customers(session, [current]))
        result[cid] = current
    return result
