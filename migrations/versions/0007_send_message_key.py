"""Each send gets a random key that goes into its messages' Message-IDs.

Message-IDs were ``<delivery.send.dispatch@domain>``: ids count from 1 in every
database, so two installations sending from one domain, or a database made anew,
reused each other's Message-IDs, and mail clients and archives fold messages with
the same id into one. Sends made before this revision keep a NULL key and their old
ids, so a resend of one of their messages still carries the id of its first attempt.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("message_key", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("message_key")
