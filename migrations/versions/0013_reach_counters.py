"""Reach without tracking: click counters per edition and link, web-version views per edition.

Only counts: no recipient, address, IP or time is stored with them. Each click or view
is one ``INSERT ... ON CONFLICT DO UPDATE SET n = n + 1`` on its row.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "edition_clicks",
        sa.Column("edition_id", _BIG_ID, nullable=False),
        sa.Column("link_key", sa.String(length=16), nullable=False),
        sa.Column("clicks", _BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_clicks_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", "link_key", name=op.f("pk_edition_clicks")),
    )
    op.create_table(
        "edition_views",
        sa.Column("edition_id", _BIG_ID, nullable=False),
        sa.Column("views", _BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_views_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_edition_views")),
    )


def downgrade() -> None:
    op.drop_table("edition_views")
    op.drop_table("edition_clicks")
