"""Indexes for the admin's people search: prefix matches on lower(email) and lower(name).

``/admin/subscribers?q=`` matches ``lower(email) LIKE 'x%'`` or ``lower(name) LIKE 'x%'``.
PostgreSQL uses a btree for LIKE prefixes only under the C collation or with the
``text_pattern_ops`` operator class, so both indexes use it (the unique index on
lower(email) keeps its default class: it serves equality and the constraint). SQLite
gets plain indexes on the same expressions.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (("ix_subscribers_email_prefix", "email"), ("ix_subscribers_name_prefix", "name"))


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, column in _INDEXES:
        expression = f"lower({column}) text_pattern_ops" if postgres else f"lower({column})"
        op.create_index(name, "subscribers", [sa.text(expression)])


def downgrade() -> None:
    for name, _ in _INDEXES:
        op.drop_index(name, table_name="subscribers")
