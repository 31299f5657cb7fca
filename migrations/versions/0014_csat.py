"""csat: the satisfaction question asked at each resolution and the customer's answer.

Revision ID: 0014_csat
Revises: 0013_routing
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_csat"
down_revision: str | Sequence[str] | None = "0013_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("resolution_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["resolution_id"], ["conversation_resolutions.id"]),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"]),
        sa.ForeignKeyConstraint(["question_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resolution_id"),
    )
    op.create_index("ix_csat_ratings_customer", "csat_ratings", ["customer_id", "asked_at"])
    op.create_index("ix_csat_ratings_conversation", "csat_ratings", ["conversation_id"])
    op.create_index("ix_csat_ratings_answered_at", "csat_ratings", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_csat_ratings_answered_at", table_name="csat_ratings")
    op.drop_index("ix_csat_ratings_conversation", table_name="csat_ratings")
    op.drop_index("ix_csat_ratings_customer", table_name="csat_ratings")
    op.drop_table("csat_ratings")
