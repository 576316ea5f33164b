"""Engines and sessions: PostgreSQL in production, SQLite as the embedded default.

Engines are made by the process that uses them, after any fork (Celery's
``worker_process_init``), never at import time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.errors import NotFoundError

SQLITE_BUSY_TIMEOUT_MS = 30_000
_Row = TypeVar("_Row")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL mode, a busy timeout and foreign keys.

    SQLite with several writers says "database is locked" unless it waits: WAL lets
    readers go on while one process writes, and the busy timeout makes writers queue.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # pysqlite's own transaction handling defers BEGIN; we issue BEGIN ourselves
    # (see _sqlite_on_begin) so that SQLAlchemy's transactions are real ones.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
    # timeout instead of failing with "database is locked" when one upgrades a read.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (edges print them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory.begin() as session:
        yield session


def get_row(session: Session, model: type[_Row], row_id: int, what: str) -> _Row:
    """The ``model`` row whose primary key is ``row_id``.

    :param what: the row's kind in words, for the error (``"edition"``)
    :raises NotFoundError: ``no <what> with id <row_id>``, if there is none
    """
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"no {what} with id {row_id}")
    return row


def ping(session: Session) -> None:
    """Ask the database for nothing, to know it answers (raises the driver's error if not)."""
    session.execute(text("SELECT 1"))
