"""bots: unanswered bot turns per conversation, pickup points, order notifications sent

- conversations.bot_unanswered: customer turns in a row no bot could answer (two → handoff).
- orders.pickup_point: where the customer collects the order, when it is collected.
- order_notifications: one row per (order, status) told to the customer, so a status is
  never sent twice; it names the message that carried it.

Columns are added with ALTER TABLE ADD COLUMN (no SQLite batch copy).

Revision ID: 0003_bots
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_bots"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("bot_unanswered", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("orders", sa.Column("pickup_point", sa.String(length=500), nullable=True))
    op.create_table(
        "order_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "status", name="uq_order_notifications_order_status"),
    )


def downgrade() -> None:
    op.drop_table("order_notifications")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("pickup_point")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("bot_unanswered")
