"""The desk's calendar page: admins add and remove blocks, everyone sees them, and the
schedule form says in Italian why the calendar refused a time.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher.models import AuditEntry, CalendarBlock, Send
from tests.support.admin import Desk

pytestmark = pytest.mark.usefixtures("quick_preflight")

BLOCK = {
    "starts": "2099-07-03T09:00",
    "ends": "2099-07-03T12:00",
    "reason": "Elezioni: par condicio",
}
INSIDE = {"lists": "cronache", "at": "2099-07-03T10:00"}


def blocks(desk: Desk) -> list[CalendarBlock]:
    with desk.sessions() as session:
        return list(session.scalars(select(CalendarBlock)))


def test_editors_see_the_calendar_but_only_an_admin_changes_it(desk: Desk) -> None:
    with desk.client("editor") as editor:
        page = editor.http.get("/admin/calendar").text
        refused = editor.post("/admin/calendar/blocks", BLOCK)
    assert "Calendario degli invii" in page and "Orario di invio: 00:00-24:00" in page
    assert 'action="/admin/calendar/blocks"' not in page
    assert refused.status_code == 403 and blocks(desk) == []

    with desk.client("admin") as admin:
        added = admin.post("/admin/calendar/blocks", BLOCK)
        shown = admin.http.get("/admin/calendar").text
        (made,) = blocks(desk)
        with desk.client("editor") as editor:
            assert "Elezioni: par condicio" in editor.http.get("/admin/calendar?lang=en").text
        removed = admin.post(f"/admin/calendar/blocks/{made.id}/remove")
    assert added.status_code == 303 and removed.status_code == 303
    assert "03/07/2099 09:00" in shown and "Elezioni: par condicio" in shown
    assert blocks(desk) == []
    with desk.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"calendar.block", "calendar.unblock"} <= actions


def test_a_block_that_ends_before_it_starts_is_refused_on_the_page(desk: Desk) -> None:
    with desk.client("admin") as admin:
        answer = admin.post("/admin/calendar/blocks", {**BLOCK, "ends": "2099-07-03T08:00"})
    assert answer.status_code == 400 and "Il blocco deve finire dopo l&#39;inizio" in answer.text


def test_the_schedule_form_gives_the_refusal_in_italian(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.client("admin") as admin:
        admin.post("/admin/calendar/blocks", BLOCK)
    with desk.client("approver") as approver:
        refused = approver.post(f"/admin/editions/{edition_id}/sends", INSIDE)
        overriding = approver.post(
            f"/admin/editions/{edition_id}/sends", {**INSIDE, "override": "urgente"}
        )
    assert refused.status_code == 409
    assert "periodo bloccato fino al 03/07/2099 12:00 (Elezioni: par condicio)" in refused.text
    assert "Primo momento consentito: 03/07/2099 12:00" in refused.text
    assert (
        overriding.status_code == 409
        and "Solo un amministratore può concedere una deroga" in overriding.text
    )

    with desk.client("admin") as admin:
        page = admin.http.get(f"/admin/editions/{edition_id}").text
        done = admin.post(
            f"/admin/editions/{edition_id}/sends", {**INSIDE, "override": "Allerta meteo"}
        )
    assert 'name="override"' in page and done.status_code == 303
    with desk.sessions() as session:
        (send,) = session.scalars(select(Send))
        assert send.calendar_override == "Allerta meteo"
