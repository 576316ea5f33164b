"""The sending calendar: blocks (par condicio) and a send's recorded override.

``calendar_blocks``: periods in which no send is scheduled or started, each with
the reason the refusal names. ``sends.calendar_override``: an admin's
justification for sending one send through a block, kept with the send (and in
the audit log).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table(
        "calendar_blocks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_calendar_blocks_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_blocks")),
    )
    op.create_index(op.f("ix_calendar_blocks_starts_at"), "calendar_blocks", ["starts_at"])
    op.create_index(op.f("ix_calendar_blocks_ends_at"), "calendar_blocks", ["ends_at"])
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("calendar_override", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("calendar_override")
    op.drop_index(op.f("ix_calendar_blocks_ends_at"), table_name="calendar_blocks")
    op.drop_index(op.f("ix_calendar_blocks_starts_at"), table_name="calendar_blocks")
    op.drop_table("calendar_blocks")
