"""Bounce events keep the DSN's action, and delay notices are events of their own kind.

A DSN with ``Action: delayed`` used to be recorded as a soft bounce, which marked
the delivery bounced and counted towards the subscription's threshold although
the message was still on its way. Now it is a ``notice`` event: stored with its
action, status and diagnostic so it can be shown, and changing nothing else.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('hard', 'soft', 'complaint', 'unsubscribe')"
KINDS_AFTER = "kind IN ('hard', 'soft', 'complaint', 'unsubscribe', 'notice')"


def upgrade() -> None:
    with op.batch_alter_table("bounce_events") as batch:
        batch.add_column(sa.Column("action", sa.String(length=16), nullable=True))
        batch.drop_constraint(batch.f("ck_bounce_events_kind"), type_="check")
        batch.create_check_constraint(batch.f("ck_bounce_events_kind"), KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM bounce_events WHERE kind = 'notice'")
    with op.batch_alter_table("bounce_events") as batch:
        batch.drop_constraint(batch.f("ck_bounce_events_kind"), type_="check")
        batch.create_check_constraint(batch.f("ck_bounce_events_kind"), KINDS_BEFORE)
        batch.drop_column("action")
