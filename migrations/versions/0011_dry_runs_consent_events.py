"""Dry runs that never touch the real ledger, and consent kept as a history.

``sends.outbox_dir``: the folder a dry run (``kind = 'dry_run'``) writes its
messages to; the workers pick an outbox there for that send instead of the
production transport, and its rows never count as received.

``consent_events``: every sign-up request, confirmation, unsubscription and change
of preferences, with time, IP, how and privacy version, appended and never
overwritten (the privacy notice promises the confirmation's IP is kept).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.add_column("sends", sa.Column("outbox_dir", sa.Text(), nullable=True))
    op.create_table(
        "consent_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("subscriber_id", BigId, nullable=False),
        sa.Column("list_id", BigId, nullable=True),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("privacy_version", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_consent_events_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_consent_events_list_id_lists"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    op.create_index(op.f("ix_consent_events_subscriber_id"), "consent_events", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_events_subscriber_id"), table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_column("sends", "outbox_dir")
