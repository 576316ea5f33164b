"""Database helpers for tests: migrate a URL, empty every table."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

import dispatcher.models  # noqa: F401 - registers the tables
import subscribers.models  # noqa: F401
from dispatcher.migrate import alembic_config
from subscribers.orm import Base


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the latest schema, as ``dispatcher db upgrade`` does."""
    command.upgrade(alembic_config(url), "head")


def truncate_all(engine: Engine) -> None:
    """Empty every table (PostgreSQL: one TRUNCATE, ids restarted)."""
    tables = [table.name for table in Base.metadata.sorted_tables]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f"DELETE FROM {name}"))
