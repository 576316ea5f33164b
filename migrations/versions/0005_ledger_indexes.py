"""Ledger indexes for the outcome hot path: partial indexes, unique key send first.

Recording an outcome moves a row from "sending" to "sent". With full indexes on
status every such update wrote four index entries; with partial indexes over
the active states only (and one over the problem states) it writes two. The
unique key becomes (send_id, subscriber_id) so that a send's rows are found
together.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('queued', 'sending', 'deferred')"
DUE = "status IN ('sending', 'deferred')"
PROBLEM = "status IN ('failed', 'uncertain', 'bounced', 'complained')"


def _partial(name: str, columns: list[str], where: str) -> None:
    op.create_index(
        name,
        "deliveries",
        columns,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_send_status")
        batch.drop_index("ix_deliveries_status_due")
        batch.drop_constraint("uq_deliveries_subscriber_id", type_="unique")
        batch.create_unique_constraint("uq_deliveries_send_id", ["send_id", "subscriber_id"])
    _partial("ix_deliveries_active_send", ["send_id", "status"], ACTIVE)
    _partial("ix_deliveries_active_due", ["status", "due_at"], DUE)
    _partial("ix_deliveries_problems", ["send_id"], PROBLEM)


def downgrade() -> None:
    op.drop_index("ix_deliveries_problems", table_name="deliveries")
    op.drop_index("ix_deliveries_active_due", table_name="deliveries")
    op.drop_index("ix_deliveries_active_send", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_send_id", type_="unique")
        batch.create_unique_constraint("uq_deliveries_subscriber_id", ["subscriber_id", "send_id"])
        batch.create_index("ix_deliveries_send_status", ["send_id", "status"])
        batch.create_index("ix_deliveries_status_due", ["status", "due_at"])
