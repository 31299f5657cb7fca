"""channels: SMS opt-out on phone identities, flagged automatic mail, templates, mail originals

- identities.opted_out: the number texted STOP (SMS); nothing is sent to it until START.
- messages.automated: an auto-reply, bounce or bulk mail: stored, never answered.
- messages.content_sid: a WhatsApp Content template to send instead of free-form text.
- message_sources: the full original of an inbound mail (raw, sanitised HTML, subject,
  References), kept beside the stored text, which is the new part only.

Columns are added with ALTER TABLE ADD COLUMN (no SQLite batch copy), so the FTS triggers
of 0002 on `messages` stay in place.

Revision ID: 0003_channels
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_channels"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "identities",
        sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "messages",
        sa.Column("automated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("messages", sa.Column("content_sid", sa.String(length=64), nullable=True))
    op.create_table(
        "message_sources",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("reference_ids", sa.Text(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )


def downgrade() -> None:
    op.drop_table("message_sources")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("content_sid")
        batch.drop_column("automated")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("opted_out")
