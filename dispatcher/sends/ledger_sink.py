"""Where outcome writes go: one short, committed statement at a time.

Outcomes are the hot path of the database side: one write per message, each
committed before the transport may finish the next message. Through SQLAlchemy
a write is BEGIN, UPDATE and COMMIT (three round trips); on PostgreSQL the
:class:`PsycopgSink` sends one prepared statement on an autocommit connection
(one round trip) and is kept for the life of the worker process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Engine

from dispatcher.sends.sql import sql

_NAMED = re.compile(r"(?<!:):(\w+)")


class LedgerSink(Protocol):
    """Runs one statement in its own committed transaction."""

    def execute(self, statement: str, params: Mapping[str, object]) -> int:
        """Run and commit ``statement``; :returns: the number of rows it changed."""
        ...

    def close(self) -> None: ...


class SqlAlchemySink:
    """Any database SQLAlchemy speaks (SQLite for the demo)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def execute(self, statement: str, params: Mapping[str, object]) -> int:
        with self._engine.begin() as connection:
            return int(connection.execute(sql(statement), params).rowcount)

    def close(self) -> None:
        """Nothing held between statements."""


class PsycopgSink:
    """PostgreSQL through psycopg 3: autocommit, server-side prepared statements.

    :param synchronous_commit: wait for the WAL flush on every outcome. Off by
        default: a worker killed after a write loses nothing (the server has it);
        only a crash of the database server itself could lose the last few hundred
        milliseconds of outcomes. LEDGER_SYNC_COMMIT=1 turns it on.
    """

    def __init__(self, engine: Engine, *, synchronous_commit: bool) -> None:
        raw = engine.raw_connection()
        self._raw = raw
        connection: Any = raw.driver_connection
        connection.autocommit = True
        if not synchronous_commit:
            connection.execute("SET synchronous_commit = off")
        self._connection = connection
        self._statements: dict[str, str] = {}

    def execute(self, statement: str, params: Mapping[str, object]) -> int:
        query = self._statements.get(statement)
        if query is None:
            query = self._statements[statement] = _NAMED.sub(r"%(\1)s", statement)
        return int(self._connection.execute(query, params, prepare=True).rowcount)

    def close(self) -> None:
        # The connection ran in autocommit with its own settings: do not return it to
        # the pool, where another user would inherit them.
        self._raw.invalidate()
