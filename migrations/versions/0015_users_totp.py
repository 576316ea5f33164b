"""Users: the TOTP second factor, a password to change at next login, the last login.

``totp_secret`` holds the base32 secret (32 characters for pyotp's 160 bits) from the
enrolment page on, ``totp_enabled_at`` is set once a code confirmed it, and
``totp_last_step`` is the time step of the last code accepted, so that a code cannot
be used twice. ``must_change_password`` is set when an admin gives a one-time
password; ``last_login_at`` is what the users page shows.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("totp_secret", sa.String(64), {}),
    ("totp_enabled_at", sa.DateTime(timezone=True), {}),
    ("totp_last_step", sa.BigInteger(), {}),
    ("must_change_password", sa.Boolean(), {"server_default": sa.false()}),
    ("last_login_at", sa.DateTime(timezone=True), {}),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name, kind, options in _COLUMNS:
            nullable = name != "must_change_password"
            batch.add_column(sa.Column(name, kind, nullable=nullable, **options))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name, _, _ in reversed(_COLUMNS):
            batch.drop_column(name)
