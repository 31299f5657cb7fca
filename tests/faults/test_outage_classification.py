"""Which errors mean "the database or queue is away" (wait, retry, count nothing against the
job), as a PostgreSQL or Redis restart raises them. Misread as a bad job, they used to make
the worker re-send a reply the provider already had (tests/faults/test_server_restarts.py
caught it about one run in three)."""

from __future__ import annotations

import asyncpg
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.queue.consumers import is_outage


def _pg(error: Exception) -> DBAPIError:
    adapted = AsyncAdapt_asyncpg_dbapi.Error(str(error), error)
    adapted.__cause__ = error
    return DBAPIError("SELECT 1", None, adapted)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (
            _pg(asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")),
            True,
        ),
        (_pg(asyncpg.exceptions.AdminShutdownError("terminating connection")), True),
        (_pg(asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation")), True),
        (_pg(asyncpg.exceptions.DivisionByZeroError("division by zero")), False),
        (IntegrityError("INSERT", None, Exception("duplicate key")), False),
        (RedisConnectionError("Error 111 connecting"), True),
        (ResponseError("WRONGTYPE"), False),
        (ConnectionRefusedError(111, "refused"), True),
        (ValueError("bad payload"), False),
    ],
)
def test_a_restart_is_an_outage_and_a_bad_job_is_not(error: Exception, outage: bool) -> None:
    assert is_outage(error) is outage
