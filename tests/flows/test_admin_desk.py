"""The desk's pages that no other test reads closely: the audit log and the sends tables.

The sends table is one template for the desk (with the edition's subject) and for
an edition's page (with its author and, for approvers, the reschedule form).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.office import approvals, scheduling
from dispatcher.office.edition_store import get_edition
from dispatcher.office.users import audit
from dispatcher.transport.memory import MemoryTransport
from subscribers.orm import utcnow
from tests.support.admin import Desk, fake_preflight, make_desk
from tests.support.data import add_example_edition, create_newsletter


@pytest.fixture
def desk(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    fake_preflight(monkeypatch)
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


def test_a_scheduled_send_is_listed_on_the_desk_and_on_its_edition(desk: Desk) -> None:
    with desk.sessions.begin() as session:
        create_newsletter(session)
        edition_id = add_example_edition(session, desk.settings)
        approvals.approve(session, edition_id, "approver", desk.settings)
        at = scheduling.parse_local("2099-07-03 10:00")
        send = scheduling.schedule_send(
            session,
            edition_id,
            ["cronache"],
            at,
            actor="anna",
            settings=desk.settings,
            now=utcnow(),
        )
        send_id, subject = send.id, get_edition(session, edition_id).subject
    with desk.client("approver") as approver:
        home = approver.http.get("/admin").text
        edition = approver.http.get(f"/admin/editions/{edition_id}").text
    desk_row = _row(home, send_id)
    assert f'href="/admin/editions/{edition_id}#sends">{escape(subject)!s}</a>' in desk_row
    assert "03/07/2099 10:00" in desk_row and "cronache" in desk_row
    assert "/reschedule" not in desk_row and "<td>anna</td>" not in desk_row
    edition_row = _row(edition, send_id)
    assert "<td>anna</td>" in edition_row and f"/admin/sends/{send_id}/reschedule" in edition_row
    assert 'value="2099-07-03T10:00"' in edition_row and str(escape(subject)) not in edition_row


def _row(page: str, send_id: int) -> str:
    start = page.index(f'<tr data-send="{send_id}">')
    return page[start : page.index("</tr>", start)]


def test_the_audit_log_pages_through_every_entry_once(desk: Desk) -> None:
    """Filtered and paged: following "older" from the first page reaches each match once."""
    with desk.sessions.begin() as session:
        for n in range(433):
            audit(session, ("anna", "bruno")[n % 2], "edition.add", "edition", n)
    seen: list[str] = []
    with desk.client("editor") as editor:
        url: str | None = "/admin/audit?username=anna"
        while url:
            page = editor.http.get(url).text
            seen += re.findall(r">edition (\d+)</a></td>", page)
            older = re.search(r'<a class="page-link" rel="next" href="([^"]+)"', page)
            url = html.unescape(older.group(1)) if older else None
            assert len(seen) <= 217, "the pages never end"
    assert sorted(map(int, seen)) == list(range(0, 433, 2))
