"""notes: the hub's own notes as a key and parameters, read in each operator's language

- message_notes: per private note the hub wrote itself (bot reasons, routing actions,
  handoffs, waiting alerts), its catalog key and parameters (JSON); the message keeps the
  English text for the REST API and search.

Revision ID: 0018_notes
Revises: 0014_csat
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_notes"
down_revision: str | Sequence[str] | None = "0014_csat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_notes",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )


def downgrade() -> None:
    op.drop_table("message_notes")
