"""Approval is bound to the content: a hash that any later change no longer matches."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dispatcher.models import AuditEntry, Edition, Send
from dispatcher.office import approvals
from dispatcher.office.approvals import ApprovalState, NotApprovedError
from dispatcher.office.scheduling import run_reconciler, schedule_send
from dispatcher.preflight import Finding
from subscribers.models import MailingList
from subscribers.orm import utcnow
from tests.support.admin import Desk, fake_preflight

CLIPPED = Finding("html.size", "the HTML is 120,000 bytes: Gmail clips it", "html")
NO_LANG = Finding("html.lang", "the HTML has no lang attribute", "html")


def shown_hash(desk: Desk, edition_id: int) -> str:
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/editions/{edition_id}").text
    found = re.search(r'name="hash" value="(\w+)"', page)
    assert found, "no approve button"
    return found.group(1)


def approval(desk: Desk, edition_id: int) -> approvals.Approval:
    with desk.sessions() as session:
        return approvals.approval_of(session, session.get_one(Edition, edition_id))


def test_the_approval_hash_is_the_compiled_hash_until_something_changes(
    desk: Desk, edition_id: int
) -> None:
    with desk.sessions.begin() as session:
        edition = session.get_one(Edition, edition_id)
        assert approvals.approval_hash(session, edition) == edition.compiled_hash
        edition.text += "\n"
        assert approvals.approval_hash(session, edition) != edition.compiled_hash


def test_an_approver_approves_the_hash_shown_with_the_real_preflight(
    desk: Desk, edition_id: int
) -> None:
    content_hash = shown_hash(desk, edition_id)
    with desk.client("approver") as approver:
        answer = approver.post(f"/admin/editions/{edition_id}/approve", {"hash": content_hash})
        page = approver.http.get(answer.headers["location"]).text

    assert answer.status_code == 303
    assert "Nessun problema trovato." in page  # the preflight report, on the page
    assert 'data-approval="current"' in page
    now = approval(desk, edition_id)
    assert (now.state, now.approved_hash, now.approved_by) == ("current", content_hash, "approver")
    with desk.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "edition.approve"))
        assert entry.one().detail["hash"] == content_hash


def test_an_approval_of_what_is_no_longer_there_is_refused(
    desk: Desk, edition_id: int, quick_preflight: None
) -> None:
    seen = shown_hash(desk, edition_id)
    with desk.sessions.begin() as session:
        session.get_one(Edition, edition_id).html += "<!-- changed meanwhile -->"

    with desk.client("approver") as approver:
        answer = approver.post(f"/admin/editions/{edition_id}/approve", {"hash": seen})

    assert answer.status_code == 409
    assert "cambiata mentre la guardavi" in answer.text
    assert approval(desk, edition_id).state == ApprovalState.NONE


def test_a_change_of_newsletter_settings_lapses_the_approval(
    desk: Desk, edition_id: int, quick_preflight: None
) -> None:
    desk.approve(edition_id)
    with desk.sessions.begin() as session:
        newsletter = session.scalars(select(MailingList)).one()
        newsletter.settings = {**newsletter.settings, "from_name": "Ufficio stampa"}

    assert approval(desk, edition_id).state == ApprovalState.OUTDATED
    with desk.sessions.begin() as session, pytest.raises(NotApprovedError, match="changed after"):
        when = utcnow()
        schedule_send(
            session, edition_id, ["cronache"], when, actor="a", settings=desk.settings, now=when
        )


def test_preflight_errors_block_approval_and_warnings_do_not(
    desk: Desk, edition_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_preflight(monkeypatch, errors=(CLIPPED,), warnings=(NO_LANG,))
    content_hash = approval(desk, edition_id).current_hash
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/editions/{edition_id}").text
        refused = approver.post(f"/admin/editions/{edition_id}/approve", {"hash": content_hash})

    assert 'data-code="html.size"' in page and 'data-code="html.lang"' in page
    assert re.search(r'id="approve"\s+disabled', page)
    assert refused.status_code == 409 and "Gmail clips it" in refused.text
    assert approval(desk, edition_id).state == ApprovalState.NONE

    fake_preflight(monkeypatch, warnings=(NO_LANG,))
    with desk.client("approver") as approver:
        passed = approver.post(f"/admin/editions/{edition_id}/approve", {"hash": content_hash})
    assert passed.status_code == 303
    assert approval(desk, edition_id).approved


def test_an_approval_can_be_withdrawn(desk: Desk, edition_id: int, quick_preflight: None) -> None:
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        assert approver.post(f"/admin/editions/{edition_id}/revoke").status_code == 303
    assert approval(desk, edition_id).state == ApprovalState.NONE


def test_the_cli_approves_as_a_named_approver_and_lists_states(
    desk: Desk, edition_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_preflight(monkeypatch, warnings=(NO_LANG,))
    listed = desk.run_cli("editions", "list")
    assert f"{edition_id}\tcronache\tn. 44\t2024-12-06\tdraft\t" in listed.output

    refused = desk.run_cli("editions", "approve", str(edition_id), "--as", "editor")
    assert refused.exit_code == 1 and "approver role" in refused.output

    done = desk.run_cli("editions", "approve", str(edition_id), "--as", "approver")
    assert done.exit_code == 0, done.output
    assert "warning: [html.lang]" in done.output
    assert f"edition {edition_id} approved by approver" in done.output
    assert "\tapproved\t" in desk.run_cli("editions", "list").output
    assert approval(desk, edition_id).approved_by == "approver"


def test_the_beat_does_not_start_a_send_whose_edition_changed_since_approval(
    desk: Desk, edition_id: int
) -> None:
    content_hash = shown_hash(desk, edition_id)
    with desk.client("approver") as approver:
        approver.post(f"/admin/editions/{edition_id}/approve", {"hash": content_hash})
    now = utcnow()
    with desk.sessions.begin() as session:
        send = schedule_send(
            session, edition_id, ["cronache"], now, actor="x", settings=desk.settings, now=now
        )
        newsletter = session.scalars(select(MailingList)).one()  # changed after approval
        newsletter.settings = {**newsletter.settings, "from_name": "Qualcun altro"}
    started = run_reconciler(desk.sessions, desk.settings)
    with desk.sessions() as session:
        held = session.get_one(Send, send.id)
    assert started.started == [] and held.state == "scheduled"
    assert "changed since it was approved" in held.state_reason
