"""agentbot: the external bot's API tokens and the conversations waiting for its answer

- agent_bot_tokens: tokens the external bot calls the REST API with (SHA-256 only);
- agent_bot_waits: per conversation, since when its customer waits for the external bot
  (the timeout chore hands off what waited too long).

Revision ID: 0017_agentbot
Revises: 0016_hooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_agentbot"
down_revision: str | Sequence[str] | None = "0016_hooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_bot_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "agent_bot_waits",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_agent_bot_waits_since", "agent_bot_waits", ["since"])


def downgrade() -> None:
    op.drop_index("ix_agent_bot_waits_since", table_name="agent_bot_waits")
    op.drop_table("agent_bot_waits")
    op.drop_table("agent_bot_tokens")
