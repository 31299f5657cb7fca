"""inbox_search: trigram indexes of customer names and addresses on SQLite; merges the 0004 heads

The inbox and API search match a customer's name or any of their addresses as a substring
(`LIKE '%text%'`). On SQLite that was a scan of every customer and every identity (about
30 ms of a search with 70,000 of each, bench/inbox.py). Two FTS5 external-content tables
with the trigram tokenizer (SQLite 3.34+) find the candidates for a text of three
characters or more; the query rechecks them with the same LIKE, so results do not change.
Triggers keep them in step, like `messages_fts` of 0002. A later SQLite batch migration
that recreates `customers` or `identities` drops these triggers: recreate them there
(SQLITE_TRIGRAMS here).

PostgreSQL already has trigram GIN indexes for this (0004_reports, when pg_trgm exists).

This revision also joins the three 0004 branches, so the history has one head again.

Revision ID: 0005_inbox_search
Revises: 0004_attachments, 0004_mail_bytes, 0004_reports
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_inbox_search"
down_revision: str | Sequence[str] | None = (
    "0004_attachments",
    "0004_mail_bytes",
    "0004_reports",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (FTS table, content table, indexed column)
TRIGRAM_TABLES = (
    ("customers_trgm", "customers", "name"),
    ("identities_trgm", "identities", "address"),
)


def _statements(fts: str, table: str, column: str) -> list[str]:
    delete_old = (
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    )
    insert_new = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
        "content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete_old} END",
        # `UPDATE OF` fires whenever the column is SET, also to its own value, as the
        # router does for every message: only a real change touches the index.
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} "
        f"WHEN old.{column} IS NOT new.{column} BEGIN {delete_old} {insert_new} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


SQLITE_TRIGRAMS = [s for spec in TRIGRAM_TABLES for s in _statements(*spec)]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGRAMS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for fts, _, _ in TRIGRAM_TABLES:
            for name in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{name}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
