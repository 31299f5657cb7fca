"""Apply alembic migrations from the installed code, on SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from hub.db import Database
from hub.resources import migrations_dir


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")  # branches made side by side are all applied


def _is_current(connection: Connection) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(MigrationContext.configure(connection).get_current_heads()) == heads


async def schema_is_current(db: Database) -> bool:
    async with db.engine.connect() as connection:
        return bool(await connection.run_sync(_is_current))


async def migrate(db: Database) -> bool:
    """Bring the schema to head; returns False when it already was."""
    async with db.engine.connect() as connection:
        if await connection.run_sync(_is_current):
            return False
    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)
    return True
