"""Edition variants: an edition compiled per language and choice of sections, and which
variant each ledger row got.

``edition_variants`` keeps each variant compiled once (one row per edition and key, see
``dispatcher/editions/variants.py``); ``deliveries.variant`` names the variant a row's
person got (NULL: the edition as stored, the whole of it in Italian);
``signup_requests.sections`` the sections ticked on the sign-up form, applied with the
rest of the request when its link confirms it.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "edition_variants",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("edition_id", _BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("compiled_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_variants_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edition_variants")),
        sa.UniqueConstraint("edition_id", "key", name=op.f("uq_edition_variants_edition_id")),
    )
    op.add_column("deliveries", sa.Column("variant", sa.String(length=255), nullable=True))
    op.add_column("signup_requests", sa.Column("sections", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signup_requests") as batch:
        batch.drop_column("sections")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("variant")
    op.drop_table("edition_variants")
