"""Whether the database can take a write, for `/healthz` (SPEC §9).

`SELECT 1` answers on a full disk and on a read-only file system, so a load balancer kept
sending webhooks to a hub that could store none. The probe makes a real, tiny write:
- SQLite: a 4 KiB file written, synced and removed beside the database (what a full or
  read-only disk refuses), then `PRAGMA user_version` written back unchanged (a real write
  to the database file's header, committed through its journal);
- PostgreSQL: a transaction that takes a transaction id and commits (a WAL commit record).
No table is needed and nothing changes. The result is kept for a few seconds, so health
checks in a burst cost one write, and none of them queues behind the SQLite write lock.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from hub.db import Database

KEEP_SECONDS = 5.0
WRITE_TIMEOUT = 10.0
PROBE_BYTES = 4096


def _disk_probe(folder: Path) -> None:
    path = folder / f".healthz-{os.getpid()}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"\0" * PROBE_BYTES)
        os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)


async def _write_once(db: Database, sqlite_file: Path | None) -> None:
    if db.is_sqlite:
        if sqlite_file is not None:
            await asyncio.to_thread(_disk_probe, sqlite_file.parent)
        async with db.session() as session:
            version = int((await session.execute(text("PRAGMA user_version"))).scalar() or 0)
            await session.execute(text(f"PRAGMA user_version = {version}"))
            await session.commit()
        return
    async with db.session() as session:
        await session.execute(text("SELECT pg_current_xact_id()"))
        await session.commit()


class WriteProbe:
    """The last probe's outcome, renewed in the background at most every KEEP_SECONDS.

    Only the first check waits for a write; later ones answer at once from the last
    outcome while a new probe runs, so /healthz never queues behind a busy write lock
    (a probe slower than WRITE_TIMEOUT counts as a failed write).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._at: float | None = None
        self._error: Exception | None = None
        self._running: asyncio.Task[None] | None = None

    async def _probe(self, db: Database, sqlite_file: Path | None) -> None:
        try:
            await asyncio.wait_for(_write_once(db, sqlite_file), WRITE_TIMEOUT)
            self._error = None
        except Exception as exc:
            self._error = exc
        self._at = self.clock()

    async def check(self, db: Database, sqlite_file: Path | None) -> None:
        """Raises the last write's error when the database could not be written."""
        due = self._at is None or self.clock() - self._at >= KEEP_SECONDS
        if due and (self._running is None or self._running.done()):
            self._running = asyncio.create_task(self._probe(db, sqlite_file))
        if self._at is None and self._running is not None:
            await asyncio.shield(self._running)  # nothing known yet: wait for the first
        if self._error is not None:
            raise self._error
