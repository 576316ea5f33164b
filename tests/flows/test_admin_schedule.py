"""Scheduling: only approved editions, local times stored in UTC, moves only while waiting."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatcher.models import AuditEntry, Send
from dispatcher.office import scheduling
from dispatcher.office.approvals import NotApprovedError
from dispatcher.office.scheduling import NotScheduledError, TimeInPastError
from dispatcher.sends import ledger
from subscribers.models import MailingList
from subscribers.orm import utcnow
from tests.support.admin import Desk
from tests.support.data import EDITION_FILE

pytestmark = pytest.mark.usefixtures("quick_preflight")

ROME = ZoneInfo("Europe/Rome")
# A Friday in summer time (UTC+2) and one in winter time (UTC+1), both far ahead.
SUMMER_AT = "2099-07-03 10:00"
WINTER_AT = "2099-12-04 10:00"


def sends(desk: Desk) -> list[Send]:
    with desk.sessions() as session:
        return list(session.scalars(select(Send).order_by(Send.id)))


def test_an_unapproved_edition_cannot_be_scheduled(desk: Desk, edition_id: int) -> None:
    with desk.client("approver") as approver:
        page = approver.http.get(f"/admin/editions/{edition_id}").text
        refused = approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "at": SUMMER_AT}
        )
        now = approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "now": "1"}
        )

    assert "Solo le edizioni approvate possono essere programmate." in page
    assert refused.status_code == 409 and now.status_code == 409
    assert "non è approvata" in refused.text
    assert sends(desk) == []


def test_a_one_person_office_may_schedule_without_approval(desk: Desk, edition_id: int) -> None:
    one_person = desk.settings.with_overrides(require_approval=False)  # REQUIRE_APPROVAL=0
    with desk.sessions.begin() as session:
        when = utcnow()
        send = scheduling.schedule_send(
            session, edition_id, ["cronache"], when, actor="x", settings=one_person, now=when
        )
    assert send.state == "scheduled"


def test_a_local_time_is_stored_in_utc_and_shown_in_local_time(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        summer = approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "at": "2099-07-03T10:00"}
        )
        page = approver.http.get(summer.headers["location"]).text

    assert summer.status_code == 303
    (send,) = sends(desk)
    assert send.scheduled_at == dt.datetime(2099, 7, 3, 8, 0, tzinfo=dt.UTC)
    assert send.created_by == "approver"
    assert "programmato per il 03/07/2099 10:00" in page
    assert 'value="2099-07-03T10:00"' in page  # the reschedule field, in local time


def test_a_time_already_gone_is_refused(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.sessions.begin() as session, pytest.raises(TimeInPastError):
        past = utcnow() - dt.timedelta(hours=1)
        scheduling.schedule_send(
            session, edition_id, ["cronache"], past, actor="a", settings=desk.settings, now=utcnow()
        )
    with desk.client("approver") as approver:
        answer = approver.post(
            f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "at": "2001-01-01 10:00"}
        )
    assert answer.status_code == 409 and "già passata" in answer.text


def test_a_scheduled_send_can_be_moved_and_unscheduled_in_the_browser(
    desk: Desk, edition_id: int
) -> None:
    desk.approve(edition_id)
    with desk.client("approver") as approver:
        approver.post(f"/admin/editions/{edition_id}/sends", {"lists": "cronache", "at": SUMMER_AT})
        send_id = sends(desk)[0].id
        moved = approver.post(f"/admin/sends/{send_id}/reschedule", {"at": WINTER_AT})
        assert moved.status_code == 303
        assert sends(desk)[0].scheduled_at == dt.datetime(2099, 12, 4, 9, 0, tzinfo=dt.UTC)
        dropped = approver.post(f"/admin/sends/{send_id}/unschedule")
        assert dropped.status_code == 303

    (send,) = sends(desk)
    assert (send.state, send.state_reason) == ("cancelled", "unscheduled by approver")
    with desk.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == send_id))
        assert set(actions) >= {"send.schedule", "send.reschedule", "send.unschedule"}


def test_a_started_send_can_no_longer_be_moved_or_unscheduled(desk: Desk, edition_id: int) -> None:
    desk.approve(edition_id)
    with desk.sessions.begin() as session:
        when = utcnow()
        send = scheduling.schedule_send(
            session, edition_id, ["cronache"], when, actor="a", settings=desk.settings, now=when
        )
    with desk.sessions.begin() as session:
        assert ledger.start_send(session, send.id, utcnow(), 100) == 0  # as the beat does

    with desk.sessions.begin() as session, pytest.raises(NotScheduledError, match="is running"):
        scheduling.reschedule_send(
            session, send.id, utcnow(), actor="a", settings=desk.settings, now=utcnow()
        )
    with desk.client("approver") as approver:
        moved = approver.post(f"/admin/sends/{send.id}/reschedule", {"at": SUMMER_AT})
        dropped = approver.post(f"/admin/sends/{send.id}/unschedule")
        page = approver.http.get(f"/admin/editions/{edition_id}").text
    assert moved.status_code == 409 and dropped.status_code == 409
    assert "già partito" in moved.text
    assert sends(desk)[0].state == "running"
    assert f'action="/admin/sends/{send.id}/reschedule"' not in page


def test_a_send_is_not_moved_once_its_edition_changed_since_approval(
    desk: Desk, edition_id: int
) -> None:
    desk.approve(edition_id)
    with desk.sessions.begin() as session:
        at = scheduling.parse_local(SUMMER_AT)
        send = scheduling.schedule_send(
            session, edition_id, ["cronache"], at, actor="a", settings=desk.settings, now=utcnow()
        )
        newsletter = session.scalars(select(MailingList)).one()
        newsletter.settings = {**newsletter.settings, "reply_to": "redazione@example.org"}
    with desk.sessions.begin() as session, pytest.raises(NotApprovedError):
        scheduling.reschedule_send(
            session,
            send.id,
            scheduling.parse_local(WINTER_AT),
            actor="a",
            settings=desk.settings,
            now=utcnow(),
        )


def test_the_weekly_slot_is_set_in_the_browser_and_proposed(desk: Desk, edition_id: int) -> None:
    with desk.client("approver") as approver:
        saved = approver.post("/admin/lists/cronache/slot", {"weekday": "4", "time": "10:00"})
        newsletter_page = approver.http.get("/admin/lists/cronache").text
        edition_page = approver.http.get(f"/admin/editions/{edition_id}").text

    assert saved.status_code == 303
    assert "Ogni venerdì alle 10:00 (Europe/Rome)." in newsletter_page
    proposed = re.search(r'id="at" name="at" type="datetime-local" value="([^"]+)"', edition_page)
    assert proposed, "no proposed time"
    local = dt.datetime.fromisoformat(proposed.group(1))
    assert (local.weekday(), local.strftime("%H:%M")) == (4, "10:00")
    assert local > dt.datetime.now(ROME).replace(tzinfo=None)


def test_the_cli_schedules_moves_and_unschedules(desk: Desk, edition_id: int) -> None:
    refused = desk.run_cli("send", str(edition_id), "--list", "cronache", "--at", SUMMER_AT)
    assert refused.exit_code == 1 and "not approved" in refused.output
    desk.approve(edition_id)

    done = desk.run_cli("send", str(edition_id), "--list", "cronache", "--at", SUMMER_AT)
    assert done.exit_code == 0, done.output
    send_id = sends(desk)[0].id
    assert f"send {send_id} scheduled for 2099-07-03 10:00 CEST" in done.output
    assert (
        f"send {send_id}\tedition {edition_id}\t2099-07-03 10:00 CEST\tcli"
        in desk.run_cli("schedule", "list").output
    )

    locked = desk.run_cli("editions", "update", str(edition_id), str(EDITION_FILE))
    assert locked.exit_code == 1 and "unschedule it before changing" in locked.output

    moved = desk.run_cli("schedule", "reschedule", str(send_id), "--at", WINTER_AT)
    assert moved.exit_code == 0 and "2099-12-04 10:00 CET" in moved.output
    assert desk.run_cli("schedule", "unschedule", str(send_id)).exit_code == 0
    again = desk.run_cli("schedule", "unschedule", str(send_id))
    assert again.exit_code == 1 and "is cancelled" in again.output


def test_the_cli_sets_the_weekly_slot(desk: Desk, edition_id: int) -> None:
    done = desk.run_cli("lists", "slot", "cronache", "--weekday", "fri", "--time", "10:00")
    assert done.exit_code == 0, done.output
    assert "cronache: every fri at 10:00 Europe/Rome; next Fri" in done.output
    with desk.sessions() as session:
        newsletter = session.scalars(select(MailingList)).one()
        assert (newsletter.weekly_weekday, newsletter.weekly_time) == (4, "10:00")
    assert desk.run_cli("lists", "slot", "cronache", "--clear").exit_code == 0
    assert desk.run_cli("lists", "slot", "cronache", "--weekday", "fri").exit_code == 2
