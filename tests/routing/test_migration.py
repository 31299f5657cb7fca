"""Migration 0013_routing both ways on a hub with data, on SQLite and PostgreSQL: the
routing cursor starts after the messages already stored, so history is never routed."""

from __future__ import annotations

import gc
import importlib.util
import sqlite3
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from hub.resources import migrations_dir
from tests.support import RunningHub, eventually
from tests.support.api import customer_writes


def _migration(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, migrations_dir() / "versions" / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _write_lock_free(hub: RunningHub) -> None:
    """Wait until no connection of the stopped hub holds SQLite's write lock.

    A CI run once met "database is locked" (after SQLite's 10 s busy wait) on the migration
    below, right after the hub stopped; the holder was not found (a job cancelled inside a
    write transaction whose connection is left to the garbage collector is the guess). The
    garbage is collected, then the lock probed: the migration starts once it is free, and a
    lock still held after 30 s fails here, before the schema is touched."""
    path = hub.settings.sqlite_path()
    if path is None:
        return
    gc.collect()

    async def free() -> bool:
        probe = sqlite3.connect(path, timeout=0.05)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()

    await eventually(free, timeout=30, what="the stopped hub to let go of the write lock")


async def test_0013_down_and_up_keeps_conversations_and_starts_the_cursor_after_them(
    hub: RunningHub,
) -> None:
    message = await customer_writes(hub, 9990, "before the upgrade")
    revision = _migration("0013_routing.py")
    cursor = text("SELECT value FROM hub_settings WHERE key = 'routing.cursor'")

    def down_then_up(connection: Connection) -> tuple[Any, Any, Any]:
        with Operations.context(MigrationContext.configure(connection)):
            revision.downgrade()
            gone = connection.execute(cursor).scalar()
            revision.upgrade()
        started = connection.execute(cursor).scalar_one()
        priority = connection.execute(
            text("SELECT priority FROM conversations WHERE id = :id"),
            {"id": message.conversation_id},
        ).scalar_one()
        return gone, started, priority

    await hub.runner.cleanup()  # the worker stops: nothing routes while the schema moves
    await _write_lock_free(hub)
    async with hub.hub.db.engine.begin() as connection:
        gone, started, priority = await connection.run_sync(down_then_up)
    assert gone is None
    assert int(started) >= (message.id or 0)
    assert priority == "normal"
