"""access: taking access back (disabled operators, token last use, session idle end)

- operators.disabled_at: set, the operator cannot sign in and every session and API token
  of theirs is refused on the next request;
- api_tokens.last_used_at: shown by `hub token list` and the admin page;
- operator_sessions.last_seen_at: sessions end after HUB_SESSION_IDLE_MINUTES without a
  request. Sessions made under the old 7-day rule are ended here (their operators sign in
  again), so the new column needs no made-up value.

Revision ID: 0008_access
Revises: 0007_one_thread
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_access"
down_revision: str | Sequence[str] | None = "0007_one_thread"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("DELETE FROM operator_sessions")
    # SQLite cannot ADD COLUMN ... NOT NULL without a default, a copy of the table can;
    # PostgreSQL adds it in place to the (now empty) table.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "operator_sessions", recreate="always" if sqlite else "auto"
    ) as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of `operators` would have to drop a table
    # that other tables' foreign keys point at.
    op.drop_column("operator_sessions", "last_seen_at")
    op.drop_column("api_tokens", "last_used_at")
    op.drop_column("operators", "disabled_at")
