"""Where outcome writes go: one short, committed statement at a time.

A batch folds its journalled outcomes into the ledger many times a second.
Through SQLAlchemy a write is BEGIN, UPDATE and COMMIT (three round trips); on
PostgreSQL the :class:`PsycopgSink` sends one prepared statement on an
autocommit connection (one round trip) and is kept for the life of the worker
process.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Protocol

import psycopg
from psycopg import pq
from sqlalchemy import Engine

from dispatcher.sends.sql import sql

_NAMED = re.compile(r"(?<!:):(\w+)")


class LedgerSink(Protocol):
    """Runs one statement in its own committed transaction."""

    #: The database's SQL dialect name (``postgresql``, ``sqlite``).
    dialect: str

    def execute(self, statement: str, params: Mapping[str, object]) -> int:
        """Run and commit ``statement``; :returns: the number of rows it changed."""
        ...

    def value(self, query: str, params: Mapping[str, object]) -> str | None:
        """The first column of the first row ``query`` returns, as text (None if no row)."""
        ...

    def close(self) -> None: ...


class SqlAlchemySink:
    """Any database SQLAlchemy speaks (SQLite for the demo)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name

    def execute(self, statement: str, params: Mapping[str, object]) -> int:
        with self._engine.begin() as connection:
            return int(connection.execute(sql(statement), params).rowcount)

    def value(self, query: str, params: Mapping[str, object]) -> str | None:
        with self._engine.begin() as connection:
            found = connection.execute(sql(query), params).scalar()
        return None if found is None else str(found)

    def close(self) -> None:
        """Nothing held between statements."""


class PsycopgSink:
    """PostgreSQL through libpq: autocommit, server-side prepared statements, text parameters.

    psycopg's cursor adapts parameters in Python (about 40 us a call); this sink
    prepares each statement once and sends its parameters as text through the
    connection's libpq handle, which is all a fold (one JSON parameter) needs.

    :param synchronous_commit: wait for the WAL flush on every fold. Off by
        default: a worker killed after a write loses nothing (the server has it);
        only a crash of the database server itself could lose the last few hundred
        milliseconds of outcomes. LEDGER_SYNC_COMMIT=1 turns it on.
    """

    dialect = "postgresql"

    def __init__(self, engine: Engine, *, synchronous_commit: bool) -> None:
        raw = engine.raw_connection()
        self._raw = raw
        connection: Any = raw.driver_connection
        connection.autocommit = True
        if not synchronous_commit:
            connection.execute("SET synchronous_commit = off")
        self._pgconn: Any = connection.pgconn
        self._prepared: dict[str, tuple[bytes, tuple[str, ...]]] = {}

    def execute(self, statement: str, params: Mapping[str, object]) -> int:
        result = self._run(statement, params, pq.ExecStatus.COMMAND_OK)
        return int(result.command_tuples or 0)

    def value(self, query: str, params: Mapping[str, object]) -> str | None:
        result = self._run(query, params, pq.ExecStatus.TUPLES_OK)
        found = result.get_value(0, 0) if result.ntuples else None
        return None if found is None else bytes(found).decode()

    def _run(self, statement: str, params: Mapping[str, object], expected: pq.ExecStatus) -> Any:
        """Send the prepared statement and wait for its result (libpq blocks, the GIL released)."""
        name, order = self._prepared.get(statement) or self._prepare(statement)
        values = [_text(params[key]) for key in order]
        self._pgconn.send_query_prepared(name, values)  # raises if it cannot be sent
        result = None
        while (next_result := self._pgconn.get_result()) is not None:
            result = next_result
        if result is None or result.status != expected:
            message = result.error_message if result is not None else self._pgconn.error_message
            raise psycopg.OperationalError(self._error(message))
        return result

    @staticmethod
    def _error(message: bytes | None) -> str:
        text = (message or b"").decode("utf-8", "replace").strip()
        return text or "the outcome could not be written"

    def close(self) -> None:
        # The connection ran in autocommit with its own settings and prepared
        # statements: do not return it to the pool, where another user would inherit them.
        self._raw.invalidate()

    def _prepare(self, statement: str) -> tuple[bytes, tuple[str, ...]]:
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        query = _NAMED.sub(number, statement)
        name = f"ledger_{len(self._prepared)}".encode()
        result = self._pgconn.prepare(name, query.encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise psycopg.OperationalError(result.error_message.decode("utf-8", "replace"))
        self._prepared[statement] = (name, tuple(order))
        return self._prepared[statement]


def _text(value: object) -> bytes | None:
    """A parameter in PostgreSQL's text form (datetimes are timezone-aware UTC)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, dt.datetime):
        return value.isoformat().encode()
    return str(value).encode()
