"""reports: who resolved what and when, call/visit notes, indexes for reports at volume

- conversation_resolutions: one row each time a conversation becomes resolved (when, by
  which operator); resolution time and "resolved per operator" are computed from it.
- message_note_kinds: a private note that records a phone call or an in-store visit,
  keyed by message id (a side table, so `messages` is never rebuilt on SQLite and the FTS
  triggers of 0002 stay in place).
- ix_messages_created (created_at, channel, private): messages per channel per day over a
  period read the index alone.
- ix_messages_operator_replies: operators' messages only (partial), by time, covering
  what the per-operator reply counts read, so they never touch the table.
- ix_conversations_created: conversations created in a period.
- PostgreSQL only, when the pg_trgm extension is available: trigram GIN indexes on
  customers.name and identities.address, so the inbox search's `ILIKE '%text%'` is an
  index scan instead of two sequential scans (bench/inbox.py measured those at 40 and
  60 ms of a 190 ms search with 70,000 customers). SQLite keeps the scans.

Revision ID: 0004_reports
Revises: 0003_bots, 0003_channels
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reports"
down_revision: str | Sequence[str] | None = ("0003_bots", "0003_channels")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPERATOR_ONLY = sa.text("sender_type = 'operator'")


def upgrade() -> None:
    op.create_table(
        "conversation_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversation_resolutions_at", "conversation_resolutions", ["resolved_at"])
    op.create_index(
        "ix_conversation_resolutions_conversation",
        "conversation_resolutions",
        ["conversation_id"],
    )
    op.create_table(
        "message_note_kinds",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_messages_created", "messages", ["created_at", "channel", "private"])
    op.create_index(
        "ix_messages_operator_replies",
        "messages",
        ["created_at", "operator_id", "private", "channel"],
        sqlite_where=OPERATOR_ONLY,
        postgresql_where=OPERATOR_ONLY,
    )
    op.create_index("ix_conversations_created", "conversations", ["created_at"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _trigram_available(bind):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for index, table, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {index} ON {table} USING gin ({column} gin_trgm_ops)")


TRIGRAM_INDEXES = (
    ("ix_customers_name_trgm", "customers", "name"),
    ("ix_identities_address_trgm", "identities", "address"),
)


def _trigram_available(bind: sa.engine.Connection) -> bool:
    found = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    return found is not None


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index, _, _ in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {index}")
    op.drop_index("ix_conversations_created", table_name="conversations")
    op.drop_index("ix_messages_operator_replies", table_name="messages")
    op.drop_index("ix_messages_created", table_name="messages")
    op.drop_table("message_note_kinds")
    op.drop_index("ix_conversation_resolutions_conversation", table_name="conversation_resolutions")
    op.drop_index("ix_conversation_resolutions_at", table_name="conversation_resolutions")
    op.drop_table("conversation_resolutions")
