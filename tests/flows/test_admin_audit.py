"""The audit log page: its filters reach the query (no other test reads this page)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.office.users import audit
from dispatcher.transport.memory import MemoryTransport
from tests.support.admin import Desk, make_desk


@pytest.fixture
def desk(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: sessionmaker[Session]
) -> Iterator[Desk]:
    yield make_desk(make_settings(database_url=pg_url), pg_sessions, MemoryTransport())


def test_the_audit_page_shows_only_what_the_filters_match(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        audit(session, "anna", "edition.add", "edition", 7)
        audit(session, "bruno", "edition.approve", "edition", 8)
        audit(session, "anna", "send.schedule", "send", 7)
    with desk.client("editor") as editor:
        everything = editor.http.get("/admin/audit").text
        by_anna = editor.http.get("/admin/audit", params={"username": "anna"}).text
        sends = editor.http.get("/admin/audit", params={"target_type": "send"}).text
        edition_8 = editor.http.get("/admin/audit?target_type=edition&target_id=8").text
    assert all(a in everything for a in ("edition.add", "edition.approve", "send.schedule"))
    assert "edition.add" in by_anna and "send.schedule" in by_anna
    assert "edition.approve" not in by_anna
    assert "send.schedule" in sends and "edition.add" not in sends
    assert "edition.approve" in edition_8 and "edition.add" not in edition_8
