"""feeds: Shopify and WooCommerce order feeds

- feed_deliveries: the platform's delivery ids already applied (a retry changes nothing,
  however late it comes);
- feed_orders: the platform's own order id of a hub order (fulfillments and deletions name
  only that), and the platform's time of the state applied last.

Revision ID: 0012_feeds
Revises: 0008_access
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_feeds"
down_revision: str | Sequence[str] | None = "0008_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "delivery_id", name="uq_feed_deliveries_source_delivery"),
    )
    op.create_table(
        "feed_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_id", name="uq_feed_orders_source_id"),
    )
    op.create_index("ix_feed_orders_order_id", "feed_orders", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_feed_orders_order_id", table_name="feed_orders")
    op.drop_table("feed_orders")
    op.drop_table("feed_deliveries")
