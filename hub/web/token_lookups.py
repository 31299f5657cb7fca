"""API tokens looked up once for the requests that arrive together.

Every API call looks its bearer token up (a revoked token or a disabled operator stops at
once). Under a stream of replies that lookup held a third of the hub's main-thread CPU
(py-spy): a session, a statement through aiosqlite's thread and the connection's reset,
per request. Requests bearing the same token while its lookup is in flight now share that
lookup. A lookup always starts after the request that started it arrived, and a finished
one is never reused, so a revocation committed before a request arrives still refuses it,
unless that request joined a lookup already running (a race it could have lost anyway).
"""

from __future__ import annotations

import asyncio

from hub.actions.operators import operator_for_token
from hub.db import Database
from hub.models import Operator


class TokenLookups:
    """One per application: the lookups in flight, by token."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[Operator | None]] = {}

    async def operator(self, db: Database, token: str) -> Operator | None:
        task = self._running.get(token)
        if task is None or task.done():  # a finished lookup is never reused
            task = asyncio.ensure_future(_lookup(db, token))
            self._running[token] = task
            task.add_done_callback(lambda done: self._forget(token, done))
        # A caller that goes away does not cancel the others' lookup.
        return await asyncio.shield(task)

    def _forget(self, token: str, done: asyncio.Task[Operator | None]) -> None:
        if self._running.get(token) is done:
            del self._running[token]


async def _lookup(db: Database, token: str) -> Operator | None:
    async with db.session() as session:
        operator = await operator_for_token(session, token)
        if session.dirty:
            await session.commit()  # the token's last use, at most once a minute
    return operator
