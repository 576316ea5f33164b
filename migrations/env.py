"""Alembic environment: our metadata, the URL from ``dispatcher db upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import dispatcher.models  # noqa: F401 - registers the tables on Base.metadata
import subscribers.models  # noqa: F401
from dispatcher.db import create_db_engine
from subscribers.orm import Base

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_db_engine(str(context.config.get_main_option("sqlalchemy.url")))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
