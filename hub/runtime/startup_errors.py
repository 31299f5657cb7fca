"""A database the hub cannot use at start, said in one line instead of a traceback.

A read-only file system (or a SQLite file the process may not write) fails deep inside
the driver, at the first connection or migration; `hub` shows the one line an operator
needs: which database, and what it said.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError


def database_error(exc: BaseException) -> str | None:
    """The line to print for a database failure; None when `exc` is something else."""
    if not isinstance(exc, SQLAlchemyError):
        return None
    reason = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
    reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
    lowered = reason.lower()
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        hint = "check that the database and its folder are writable and the disk is not full"
    else:
        hint = "check HUB_DATABASE_URL and that the database is up"
    return f"the database cannot be used ({reason}): {hint}"
