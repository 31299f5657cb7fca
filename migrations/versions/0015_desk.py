"""desk: macros (a reply, labels, a status and taking the thread, in one step)

Revision ID: 0015_desk
Revises: 0017_agentbot
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_desk"
down_revision: str | Sequence[str] | None = "0017_agentbot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "macros",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("assign_to_me", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("macros")
