"""The ledger's rows no longer hold a foreign key to subscribers.

Writing a million-row ledger spent a third of its time checking that key, one
lookup and one row lock per row, for people the same statement had just read from
their subscriptions. What the key guarded against needs no key: people are never
deleted (erasure anonymises them), and the row of someone deleted by hand anyway
loses their subscriptions with them (that key cascades), so the claim skips it
as "unsubscribed" instead of leaving it unclaimable.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "fk_deliveries_subscriber_id_subscribers"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(KEY, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.create_foreign_key(KEY, "subscribers", ["subscriber_id"], ["id"])
