"""routing: teams, auto-assignment, rules, business hours, priority and SLA (issue 16)

- teams, team_members: operators grouped, each team with a time zone and weekly hours;
- routing_rules: "when ... then ..." rules as validated JSON (hub.domain.rules);
- conversations: team, priority, first reply, waiting and out-of-hours marks, routed mark;
- operators.auto_assign_cap: a per-operator cap on auto-assigned open conversations.

Revision ID: 0013_routing
Revises: 0015_desk
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_routing"
down_revision: str | Sequence[str] | None = "0015_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAMPS = ("first_reply_at", "waiting_since", "waiting_alerted_at", "out_of_hours_at", "routed_at")


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"]),
        sa.PrimaryKeyConstraint("team_id", "operator_id"),
    )
    op.create_index("ix_team_members_operator_id", "team_members", ["operator_id"])
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Plain ADD COLUMN on both databases: every new column is nullable or has a default,
    # and a batch copy of `conversations` would have to drop a table others point at.
    op.add_column("conversations", sa.Column("team_id", sa.Integer(), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("priority", sa.String(length=8), nullable=False, server_default="normal"),
    )
    for name in _STAMPS:
        op.add_column("conversations", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a constraint in place
        op.create_foreign_key(
            "fk_conversations_team_id", "conversations", "teams", ["team_id"], ["id"]
        )
    op.add_column("operators", sa.Column("auto_assign_cap", sa.Integer(), nullable=True))
    # The routing cursor (hub.actions.routing) starts after every message stored so far:
    # rules and out-of-hours replies are for what arrives from now on.
    op.execute(
        "INSERT INTO hub_settings (key, value) "
        "SELECT 'routing.cursor', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM messages"
    )


def downgrade() -> None:
    op.execute("DELETE FROM hub_settings WHERE key LIKE 'routing.%'")
    op.drop_column("operators", "auto_assign_cap")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_conversations_team_id", "conversations", type_="foreignkey")
    for name in (*_STAMPS, "priority", "team_id"):
        op.drop_column("conversations", name)
    op.drop_table("routing_rules")
    op.drop_index("ix_team_members_operator_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
