"""Set-based statements that take thousands of rows or keys as one parameter.

Why not a multi-row ``VALUES`` list: 4,000 rows of 8 columns are 32,000
placeholders, and psycopg parses the statement text in Python each time (most of
an import's time went there). One JSON text, or one array, is parsed by the
database in C (psycopg also dumps a Python list into an array parameter in Python,
string by string). PostgreSQL reads them with ``json_to_recordset`` and
``json_array_elements_text``, SQLite with ``json_each``; ``IN (SELECT ...)`` over
such a set becomes index lookups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    SQLColumnExpression,
    Text,
    TextClause,
    bindparam,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session

#: SQL types of the columns a JSON row set may have, as PostgreSQL names them.
PG_TYPES = frozenset({"text", "bigint", "integer", "json"})
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def among(
    column: SQLColumnExpression[Any], values: Sequence[str] | Sequence[int], dialect: str
) -> ColumnElement[bool]:
    """``column IN values`` with the whole list bound as one JSON parameter."""
    as_int = bool(values) and isinstance(values[0], int)
    dumped = bindparam(None, json.dumps(list(values)), type_=Text())
    if dialect == "postgresql":
        elements = func.json_array_elements_text(cast(dumped, JSON)).table_valued("value")
        item = elements.c.value
    else:
        elements = func.json_each(dumped).table_valued("value")
        item = elements.c.value
    keys: Select[tuple[Any]] = select(cast(item, BigInteger() if as_int else Text()))
    return column.in_(keys.select_from(elements).scalar_subquery())


def row_set(columns: Mapping[str, str], dialect: str) -> str:
    """A FROM item named ``r`` whose rows come from the JSON list bound as ``:rows``.

    :param columns: column name -> PostgreSQL type (text, bigint, integer, json)
    :raises ValueError: for a type not in :data:`PG_TYPES` or a name that is not a plain
        identifier: both are written into the SQL, so neither may come from outside
    """
    if not set(columns.values()) <= PG_TYPES:
        raise ValueError(f"unsupported column types in {columns!r}")
    if not all(_IDENTIFIER.fullmatch(name) for name in columns):
        raise ValueError(f"column names must be plain identifiers: {sorted(columns)!r}")
    if dialect == "postgresql":
        typed = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        return f"json_to_recordset(CAST(:rows AS json)) AS r({typed})"
    picked = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name in columns)
    return f"(SELECT {picked} FROM json_each(:rows)) AS r"  # nosec B608 - checked names


def rows_param(rows: Sequence[Mapping[str, Any]]) -> str:
    """The value for ``:rows``."""
    return json.dumps(list(rows), ensure_ascii=False)


def statement(sql: str, *datetime_params: str) -> TextClause:
    """A text statement whose named parameters carry timezone-aware datetimes.

    Typed so that SQLite stores them in the same text form as the ORM does, and
    comparisons between the two stay right.
    """
    return text(sql).bindparams(
        *(bindparam(name, type_=DateTime(timezone=True)) for name in datetime_params)
    )
