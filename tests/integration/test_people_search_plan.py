"""The people search reads indexes, not the table, at 100,000 people (PostgreSQL's plans).

Every way the admin searches (an address prefix, a name prefix, the next page, no
query) is EXPLAINed after ANALYZE; a sequential scan of ``subscribers`` in any plan
means the search would read a million rows on every keystroke of the office.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from subscribers.directory import PAGE_SIZE, search_people, search_statement

pytestmark = pytest.mark.integration

PEOPLE = 100_000


def _fill(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO subscribers (email, name, language, attributes)"
                " SELECT 'Person' || n || '@Example' || (n % 97) || '.org',"
                "        (ARRAY['Maria','Giuseppe','Anna','Luca'])[n % 4 + 1] || ' ' || n,"
                "        'it', '{}'"
                " FROM generate_series(1, :n) AS n"
            ),
            {"n": PEOPLE},
        )
    with sessions.begin() as session:
        session.execute(text("ANALYZE subscribers"))


def _plan(session: Session, query: str, after: str = "") -> str:
    """PostgreSQL's plan for the search, with the values bound as the page binds them."""
    statement = search_statement(query, after, PAGE_SIZE + 1)
    compiled = statement.compile(dialect=session.get_bind().dialect)
    rows = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(row[0] for row in rows)


def test_every_search_uses_an_index_at_100000_people(pg_sessions: sessionmaker[Session]) -> None:
    _fill(pg_sessions)
    with pg_sessions() as session:
        plans = {
            "address": _plan(session, "person4242"),
            "name": _plan(session, "giuseppe 123"),
            "next page": _plan(session, "", after="person5@example5.org"),
            "everyone": _plan(session, ""),
        }
        for what, plan in plans.items():
            print(f"--- {what}\n{plan}")  # the report quotes these (pytest -s)
            assert "Seq Scan" not in plan, (what, plan)
        assert "ix_subscribers_email_prefix" in plans["address"]
        assert "ix_subscribers_name_prefix" in plans["name"]
        found = search_people(session, "GIUSEPPE 1233")
        assert {p.name for p in found.people} >= {"Giuseppe 1233", "Giuseppe 12337"}
        assert all(p.name.startswith("Giuseppe 1233") for p in found.people)
