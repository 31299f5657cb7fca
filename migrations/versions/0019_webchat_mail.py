"""webchat mail: when each web chat visitor last had a socket open

- webchat_presence: per visitor, the last moment a socket of theirs was open (opened, a
  reply pushed, closed); the worker emails replies sent after it to a proven address
  (hub.chores.webchat_mail). Which replies were already looked at is a cursor in
  hub_settings, so no table needs more.

Revision ID: 0019_webchat_mail
Revises: 0018_notes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_webchat_mail"
down_revision: str | Sequence[str] | None = "0018_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webchat_presence",
        sa.Column("visitor_id", sa.String(length=320), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("visitor_id"),
    )


def downgrade() -> None:
    op.drop_table("webchat_presence")
