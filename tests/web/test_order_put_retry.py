"""PUT /orders on SQLite: a write that finds the database locked (another writer committed
between the upsert's read and its write) is retried in the write turn, never a 500."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import hub.web.api.orders as orders_api
from tests.support import RunningHub
from tests.support.api import Api


# SQLITE_BUSY_SNAPSHOT is SQLite's; PostgreSQL waits for the row lock. (Not a skip inside the
# test: a PostgreSQL hub stopped right after its start leaked a connection to a later test.)
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_locked_upsert_is_retried_in_the_write_turn(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = hub.hub.db
    assert db.is_sqlite
    real = orders_api.do_upsert_order
    turns: list[bool] = []

    async def once_locked(session: Any, data: Any) -> Any:
        turns.append(db._write_lock.locked())
        if len(turns) == 1:
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("UPDATE orders SET status=?", {}, locked)
        return await real(session, data)

    monkeypatch.setattr(orders_api, "do_upsert_order", once_locked)
    body = {"customer": {"telegram_id": 9901}, "status": "created", "notify": True}
    code, answer, _ = await api.call("PUT", "/orders/9901", body)
    assert code == 201, answer
    assert turns == [False, True]  # optimistic first, then in the turn
    assert answer["notification"]["queued"] is True
    assert (await api.get("/orders/9901"))["history"][0]["status"] == "created"
