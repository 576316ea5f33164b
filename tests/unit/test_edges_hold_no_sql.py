"""Web routes and CLI commands call services: they hold no SQL of their own.

Every module under ``dispatcher/web`` and ``dispatcher/cli`` is read with ``ast``
and fails if it builds a statement (``select(``, ``text(``, ``insert(`` ...) or
runs one on a session (``session.execute``, ``.scalar``, ``.get``, ``.add`` ...).
Committing or rolling back is the edge's own business and is allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDGES = ("dispatcher/web", "dispatcher/cli")

#: Building a statement: sqlalchemy's constructors, however they were imported.
STATEMENT_BUILDERS = frozenset({"select", "text", "insert", "update", "delete", "func"})
#: Running a statement, or loading and storing rows, through a session.
SESSION_CALLS = frozenset(
    {"execute", "scalar", "scalars", "get", "get_one", "add", "add_all", "delete",
     "merge", "query", "flush", "refresh", "expire"}
)  # fmt: skip

#: Modules still to move to services; each must still hold SQL, so that a cleaned one is
#: taken off this list. None is left.
NOT_YET_MOVED: frozenset[str] = frozenset()


def _edge_modules() -> list[str]:
    found = []
    for folder in EDGES:
        found += [p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*.py")]
    return sorted(found)


def sql_in(source: str) -> list[str]:
    """Where ``source`` builds or runs SQL, as ``line: what`` strings."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            built = [a.name for a in node.names if a.name in STATEMENT_BUILDERS]
            found += [f"{node.lineno}: imports sqlalchemy's {name}" for name in built]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            is_session = isinstance(receiver, ast.Name) and receiver.id.endswith("session")
            if is_session and node.func.attr in SESSION_CALLS:
                found.append(f"{node.lineno}: {receiver.id}.{node.func.attr}(...)")
            if isinstance(receiver, ast.Name) and receiver.id in {"sa", "sqlalchemy"}:
                found.append(f"{node.lineno}: {receiver.id}.{node.func.attr}(...)")
    return found


def test_the_scan_sees_sql_and_lets_other_calls_be() -> None:
    caught = sql_in(
        "from sqlalchemy import select\n"
        "rows = session.scalars(select(Edition))\n"
        "db_session.add(row)\n"
    )
    assert len(caught) == 3
    assert not sql_in("token = request.session.get('csrf')\nsession.commit()\n")


@pytest.mark.parametrize("module", _edge_modules())
def test_routes_and_commands_hold_no_sql(module: str) -> None:
    found = sql_in((ROOT / module).read_text(encoding="utf-8"))
    if module in NOT_YET_MOVED:
        assert found, f"{module} holds no SQL any more: take it off NOT_YET_MOVED"
    else:
        assert not found, f"{module} holds SQL; call a service instead: {found}"
