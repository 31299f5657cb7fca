"""media_keys: an index on attachments.storage_key, for the orphan-file sweep

hub/chores/media_sweep.py asks, for each batch of old files in the media store, which of them an
attachment still names: without this index each batch was a scan of every attachment.

Revision ID: 0006_media_keys
Revises: 0005_inbox_search
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_media_keys"
down_revision: str | Sequence[str] | None = "0005_inbox_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_attachments_storage_key", "attachments", ["storage_key"])


def downgrade() -> None:
    op.drop_index("ix_attachments_storage_key", table_name="attachments")
