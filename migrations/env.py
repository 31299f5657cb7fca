"""Alembic environment: the same revisions run on SQLite and PostgreSQL.

`hub migrate` passes a live connection in `config.attributes["connection"]`; the alembic
command line (for `alembic revision --autogenerate`) opens its own from sqlalchemy.url.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import hub.models  # noqa: F401  (registers the tables)
from hub.db import async_url

config = context.config
target_metadata = SQLModel.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url() -> None:
    engine = create_async_engine(async_url(config.get_main_option("sqlalchemy.url") or ""))
    async with engine.begin() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if config.attributes.get("connection") is not None:
    run_with(config.attributes["connection"])
else:
    asyncio.run(run_from_url())
