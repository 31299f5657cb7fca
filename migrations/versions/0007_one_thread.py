"""one_thread: proven and claimed identities, merge suggestions, the customer timeline, and
at most one unresolved conversation per customer (SPEC §6)

Before this revision a customer could hold several unresolved conversations (after a link
or a merge), and a new message landed in whichever was newest. This revision folds what a
database already holds, exactly as a merge now does at run time (hub.actions.folding): per
customer the oldest unresolved conversation survives, the others' messages and labels join
it, an assignee is kept, and each folded conversation is kept `resolved` with
`merged_into_id`. Each fold is printed to stderr and written to the customer's timeline.
Then a partial unique index holds the rule for good, on SQLite and PostgreSQL alike.

Identity columns are added without a foreign key: SQLite cannot add one to an existing
table without recreating it, and recreating `identities` would drop the trigram triggers
of 0005.

Revision ID: 0007_one_thread
Revises: 0006_media_keys
"""

import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007_one_thread"
down_revision: str | Sequence[str] | None = "0006_media_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = "status <> 'resolved'"
# Of two unresolved conversations folded together, the survivor takes the livelier status.
LIVELINESS = {"open": 3, "pending": 2, "snoozed": 1}


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _create_tables() -> None:
    op.add_column("identities", sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
    op.add_column("identities", sa.Column("confirmed_at", _timestamp(), nullable=True))
    op.add_column("conversations", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    op.create_table(
        "merge_suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("settled_at", _timestamp(), nullable=True),
        sa.UniqueConstraint(
            "customer_id", "owner_id", "channel", "address", name="uq_merge_suggestions_claim"
        ),
    )
    op.create_index("ix_merge_suggestions_customer_id", "merge_suggestions", ["customer_id"])
    op.create_index("ix_merge_suggestions_owner_id", "merge_suggestions", ["owner_id"])
    op.create_table(
        "customer_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("other_customer_id", sa.Integer(), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(64), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
    )
    op.create_index("ix_customer_events_customer_id", "customer_events", ["customer_id"])


def _fold(bind: sa.engine.Connection, customer_id: int, rows: list[sa.Row]) -> None:
    survivor, others = rows[0], rows[1:]
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    status = max((r.status for r in rows), key=lambda s: LIVELINESS.get(s, 0))
    latest = max(rows, key=lambda r: (r.last_message_at, r.id))
    assignee = survivor.assignee_id or next((r.assignee_id for r in others if r.assignee_id), None)
    for other in others:
        bind.execute(
            sa.text("UPDATE messages SET conversation_id = :s WHERE conversation_id = :o"),
            {"s": survivor.id, "o": other.id},
        )
        bind.execute(
            sa.text(
                "INSERT INTO conversation_labels (conversation_id, label) "
                "SELECT :s, label FROM conversation_labels WHERE conversation_id = :o "
                "AND label NOT IN (SELECT label FROM conversation_labels "
                "WHERE conversation_id = :s)"
            ),
            {"s": survivor.id, "o": other.id},
        )
        bind.execute(
            sa.text(
                "UPDATE conversations SET status = 'resolved', merged_into_id = :s, "
                "snooze_until = NULL WHERE id = :o"
            ),
            {"s": survivor.id, "o": other.id},
        )
        bind.execute(
            sa.text(
                "INSERT INTO customer_events (customer_id, kind, rule, other_customer_id, "
                "created_at) VALUES (:c, 'fold', :rule, NULL, :at)"
            ),
            {"c": customer_id, "rule": f"migration: #{other.id} into #{survivor.id}", "at": now},
        )
        print(
            f"0007_one_thread: customer {customer_id}: conversation {other.id} folded into "
            f"{survivor.id}",
            file=sys.stderr,
        )
    bind.execute(
        sa.text(
            "UPDATE conversations SET status = :status, assignee_id = :assignee, "
            "bot_active = :bot, channel = :channel, last_message_at = :at, "
            "last_message_text = :text, snooze_until = :snooze WHERE id = :s"
        ),
        {
            "status": status,
            "assignee": assignee,
            "bot": all(bool(r.bot_active) for r in rows),
            "channel": latest.channel,
            "at": latest.last_message_at,
            "text": latest.last_message_text,
            "snooze": survivor.snooze_until if status == "snoozed" else None,
            "s": survivor.id,
        },
    )


def _fold_existing() -> int:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, customer_id, status, assignee_id, bot_active, channel, "
            "last_message_at, last_message_text, snooze_until FROM conversations "
            f"WHERE {UNRESOLVED} AND customer_id IN (SELECT customer_id FROM conversations "
            f"WHERE {UNRESOLVED} GROUP BY customer_id HAVING COUNT(*) > 1) "
            "ORDER BY customer_id, id"
        )
    ).all()
    by_customer: dict[int, list[sa.Row]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(row)
    for customer_id, group in by_customer.items():
        _fold(bind, customer_id, group)
    return sum(len(g) - 1 for g in by_customer.values())


def upgrade() -> None:
    _create_tables()
    folded = _fold_existing()
    if folded:
        print(f"0007_one_thread: {folded} conversation(s) folded in all", file=sys.stderr)
    op.create_index(
        "uq_conversations_one_unresolved",
        "conversations",
        ["customer_id"],
        unique=True,
        sqlite_where=sa.text(UNRESOLVED),
        postgresql_where=sa.text(UNRESOLVED),
    )


def downgrade() -> None:
    op.drop_index("uq_conversations_one_unresolved", table_name="conversations")
    op.drop_table("customer_events")
    op.drop_table("merge_suggestions")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("merged_into_id")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("confirmed_by_id")
