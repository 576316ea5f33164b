"""Worker heartbeats and the beat's tick in the database, for brokers that are not Redis.

With RabbitMQ (or the embedded SQLite broker) and no ``REDIS_URL``, the console,
``dispatcher status`` and ``/metrics`` had no workers and no beat to show. Each
worker process now upserts one ``worker_heartbeats`` row per heartbeat interval,
and the reconcile task one ``monitoring_ticks`` row per run.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("host", "pid", name=op.f("pk_worker_heartbeats")),
    )
    op.create_index(op.f("ix_worker_heartbeats_last_seen"), "worker_heartbeats", ["last_seen"])
    op.create_table(
        "monitoring_ticks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitoring_ticks")),
    )


def downgrade() -> None:
    op.drop_table("monitoring_ticks")
    op.drop_index(op.f("ix_worker_heartbeats_last_seen"), table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
