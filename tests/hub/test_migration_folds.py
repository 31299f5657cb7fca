"""Migration 0007 folds what a database already holds: a customer with several unresolved
conversations (possible before the one-thread rule) ends with one, the oldest, holding every
message in order and the others' labels; each fold is reported and put on the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from hub.db import Database
from hub.migrate import alembic_config, migrate
from tests.conftest import make_settings

BEFORE = "0006_media_keys"


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _at(minutes: int, sqlite: bool) -> datetime:
    moment = datetime(2026, 11, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.replace(tzinfo=None) if sqlite else moment


def _seed(connection: Connection) -> None:
    """John (1) with three unresolved conversations and one resolved; Anna (2) with one."""
    sqlite = connection.dialect.name == "sqlite"
    now = _at(0, sqlite)
    for cid, name in ((1, "John"), (2, "Anna")):
        connection.execute(
            text(
                "INSERT INTO customers (id, name, created_at, last_activity_at) "
                "VALUES (:id, :name, :at, :at)"
            ),
            {"id": cid, "name": name, "at": now},
        )
    conversations = [  # id, customer, status, channel, assignee, bot
        (10, 1, "resolved", "sms", None, True),
        (11, 1, "open", "telegram", None, True),
        (12, 1, "pending", "webchat", None, False),
        (13, 1, "snoozed", "email", None, True),
        (20, 2, "open", "telegram", None, True),
    ]
    for vid, cid, status, channel, assignee, bot in conversations:
        connection.execute(
            text(
                "INSERT INTO conversations (id, customer_id, status, channel, assignee_id, "
                "bot_active, bot_unanswered, last_message_at, created_at) VALUES "
                "(:id, :c, :s, :ch, :a, :bot, 0, :at, :at)"
            ),
            {"id": vid, "c": cid, "s": status, "ch": channel, "a": assignee, "bot": bot,
             "at": _at(vid, sqlite)},
        )  # fmt: skip
    # Messages in time order across John's threads: 11, 12, 11, 13, 12.
    for mid, vid in enumerate((11, 12, 11, 13, 12, 20), start=100):
        connection.execute(
            text(
                "INSERT INTO messages (id, conversation_id, customer_id, direction, "
                "sender_type, channel, text, private, status, dedupe_key, automated, "
                "created_at) VALUES (:id, :v, :c, 'inbound', 'customer', 'telegram', :t, "
                ":f, 'received', :k, :f, :at)"
            ),
            {"id": mid, "v": vid, "c": 2 if vid == 20 else 1, "t": f"message {mid}",
             "k": f"k{mid}", "f": False, "at": _at(mid, sqlite)},
        )  # fmt: skip
    for vid, label in ((11, "vip"), (12, "refund"), (13, "vip")):
        connection.execute(
            text("INSERT INTO conversation_labels (conversation_id, label) VALUES (:v, :l)"),
            {"v": vid, "l": label},
        )


async def test_0007_folds_each_customers_unresolved_conversations_into_the_oldest(
    backend_urls: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    db = Database(make_settings(**backend_urls))
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(_upgrade_to, BEFORE)
            await connection.run_sync(_seed)
        assert await migrate(db)
        async with db.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT id, status, merged_into_id FROM conversations ORDER BY id")
                )
            ).all()
            messages = (
                await connection.execute(
                    text("SELECT id FROM messages WHERE conversation_id = 11 ORDER BY id")
                )
            ).all()
            labels = (
                await connection.execute(
                    text(
                        "SELECT label FROM conversation_labels WHERE conversation_id = 11 "
                        "ORDER BY label"
                    )
                )
            ).all()
            timeline = (
                await connection.execute(
                    text("SELECT customer_id, kind FROM customer_events ORDER BY id")
                )
            ).all()
    finally:
        await db.close()
    assert [tuple(r) for r in rows] == [
        (10, "resolved", None),
        (11, "open", None),
        (12, "resolved", 11),
        (13, "resolved", 11),
        (20, "open", None),
    ]
    assert [m for (m,) in messages] == [100, 101, 102, 103, 104]
    assert [label for (label,) in labels] == ["refund", "vip"]
    assert [tuple(t) for t in timeline] == [(1, "fold"), (1, "fold")]
    reported = capfd.readouterr().err
    assert "customer 1: conversation 12 folded into 11" in reported
    assert "customer 1: conversation 13 folded into 11" in reported
