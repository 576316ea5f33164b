"""Approvals bound to a hash, uploaded images, weekly slots, kinds of send.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:17:51.831819
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "edition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("alt", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_images_edition_id_editions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
    )
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weekly_weekday", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("weekly_time", sa.String(length=5), nullable=True))
        batch_op.add_column(
            sa.Column(
                "timezone", sa.String(length=64), server_default="Europe/Rome", nullable=False
            )
        )

    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="normal", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "parent_send_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("created_by", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_sends_parent_send_id_sends"), "sends", ["parent_send_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_sends_parent_send_id_sends"), type_="foreignkey")
        batch_op.drop_column("created_by")
        batch_op.drop_column("parent_send_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("weekly_time")
        batch_op.drop_column("weekly_weekday")

    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
        batch_op.drop_column("approved_hash")

    op.drop_table("images")
