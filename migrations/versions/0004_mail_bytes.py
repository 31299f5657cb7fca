"""mail_bytes: the full original of an inbound mail kept byte for byte

message_sources.raw was text (the mail decoded as UTF-8, undecodable bytes replaced), so a
mail in ISO-8859-1 or with 8-bit parts could not be given back as it came. It becomes a
binary column; rows already stored keep their text, encoded as UTF-8.

message_sources is not `messages`: rebuilding it on SQLite (batch) touches no FTS trigger.

Revision ID: 0004_mail_bytes
Revises: 0003_bots, 0003_channels
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_mail_bytes"
down_revision: str | Sequence[str] | None = ("0003_bots", "0003_channels")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE message_sources ALTER COLUMN raw TYPE bytea USING convert_to(raw, 'UTF8')"
        )
        return
    # SQLite: the batch copy casts each value, CAST(text AS BLOB) gives its UTF-8 bytes.
    with op.batch_alter_table("message_sources") as batch:
        batch.alter_column(
            "raw", existing_type=sa.Text(), type_=sa.LargeBinary(), existing_nullable=False
        )


def downgrade() -> None:
    # Back to text: PostgreSQL refuses a mail that is not UTF-8 rather than alter it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE message_sources ALTER COLUMN raw TYPE text USING convert_from(raw, 'UTF8')"
        )
        return
    with op.batch_alter_table("message_sources") as batch:
        batch.alter_column(
            "raw", existing_type=sa.LargeBinary(), type_=sa.Text(), existing_nullable=False
        )
