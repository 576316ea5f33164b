"""Database helpers for tests and benchmarks: a scratch database, migrate, empty every table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from sqlalchemy import Engine, create_engine, text

import dispatcher.models  # noqa: F401 - registers the tables
import subscribers.models  # noqa: F401
from dispatcher.migrate import alembic_config
from subscribers.orm import Base


@contextmanager
def scratch_database(admin_url: str, name: str) -> Iterator[str]:
    """A new PostgreSQL database ``name`` beside ``admin_url``'s, migrated; dropped after.

    :returns: (yields) the new database's URL.
    """
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
