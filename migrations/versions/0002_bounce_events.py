"""Bounce events: bounces, complaints and mailto unsubscribes that came back.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bounce_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", BigId, nullable=True),
        sa.Column("subscriber_id", BigId, nullable=True),
        sa.Column("list_id", BigId, nullable=True),
        sa.Column("status_code", sa.String(length=16), nullable=True),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('hard', 'soft', 'complaint', 'unsubscribe')",
            name=op.f("ck_bounce_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_bounce_events_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_bounce_events_subscriber_id_subscribers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_events")),
    )
    op.create_index("ix_bounce_events_delivery", "bounce_events", ["delivery_id"])
    op.create_index("ix_bounce_events_subscriber", "bounce_events", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_bounce_events_subscriber", table_name="bounce_events")
    op.drop_index("ix_bounce_events_delivery", table_name="bounce_events")
    op.drop_table("bounce_events")
