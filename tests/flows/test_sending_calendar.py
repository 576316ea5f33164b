"""The sending calendar: a block refuses and holds sends, an admin's override is audited,
the sending hours hold a due send until the morning; the CLI and the reconciler agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dispatcher.config import Settings
from dispatcher.models import AuditEntry, Delivery, Send
from dispatcher.office import calendar, scheduling
from dispatcher.office.calendar import CalendarRefusedError
from tests.support.admin import Desk
from tests.support.data import add_subscribers

pytestmark = pytest.mark.usefixtures("quick_preflight")

ROME = ZoneInfo("Europe/Rome")
READERS = 3


def rome(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ROME).astimezone(dt.UTC)  # type: ignore[misc]


# Friday 3 July 2099: no holiday; the election's block runs through that morning.
SCHEDULED_AT = rome(2099, 7, 3, 10, 0)
BLOCK = (rome(2099, 7, 3, 9, 0), rome(2099, 7, 3, 12, 0))


@pytest.fixture
def desk_settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    """The office's calendar on: 08:00-20:00, the national holidays and Turin's 24 June."""
    return make_settings(
        database_url=pg_url, sending_hours="08:00-20:00", national_holidays=True,
        local_holidays="06-24",
    )  # fmt: skip


@pytest.fixture
def approved(desk: Desk, edition_id: int, newsletter: int) -> int:
    with desk.sessions.begin() as session:
        add_subscribers(session, newsletter, READERS)
    desk.approve(edition_id)
    return edition_id


def schedule(desk: Desk, edition_id: int, when: dt.datetime, override: str | None = None) -> int:
    earlier = when - dt.timedelta(days=1)
    with desk.sessions.begin() as session:
        send = scheduling.schedule_send(
            session, edition_id, ["cronache"], when, actor="admin",
            settings=desk.settings, now=earlier, override=override,
        )  # fmt: skip
        return send.id


def block(desk: Desk) -> int:
    with desk.sessions.begin() as session:
        return calendar.add_block(session, *BLOCK, "Elezioni regionali: par condicio", "admin").id


def reconcile_at(desk: Desk, when: dt.datetime) -> list[int]:
    return scheduling.run_reconciler(desk.sessions, desk.settings, lambda: when).started


def send_row(desk: Desk, send_id: int) -> tuple[str, str, int]:
    with desk.sessions() as session:
        send = session.get_one(Send, send_id)
        rows = session.scalar(select(func.count()).where(Delivery.send_id == send_id))
        return send.state, send.state_reason, rows or 0


def test_a_send_inside_a_block_is_refused_naming_the_reason(desk: Desk, approved: int) -> None:
    block(desk)
    with pytest.raises(CalendarRefusedError, match="par condicio") as refused:
        schedule(desk, approved, SCHEDULED_AT)
    assert refused.value.proposed == BLOCK[1]
    assert "03/07/2099 12:00" in str(refused.value)
    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 0


def test_a_send_scheduled_before_the_block_is_held_and_starts_after_it(
    desk: Desk, approved: int
) -> None:
    send_id = schedule(desk, approved, SCHEDULED_AT)
    block(desk)

    assert reconcile_at(desk, SCHEDULED_AT + dt.timedelta(minutes=30)) == []
    state, reason, rows = send_row(desk, send_id)
    assert (state, rows) == ("scheduled", 0)
    assert reason.startswith("held: calendar block") and "par condicio" in reason

    assert reconcile_at(desk, BLOCK[1] + dt.timedelta(seconds=1)) == [send_id]
    assert send_row(desk, send_id) == ("running", "", READERS)


def test_an_admin_override_sends_through_the_block_and_is_audited(
    desk: Desk, approved: int
) -> None:
    block(desk)
    why = "Allerta meteo della protezione civile: comunicazione indispensabile"
    send_id = schedule(desk, approved, SCHEDULED_AT, override=why)

    assert reconcile_at(desk, SCHEDULED_AT + dt.timedelta(minutes=1)) == [send_id]
    with desk.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "send.override_block")
        ).one()
        assert (entry.username, entry.target_id, entry.detail) == (
            "admin", send_id, {"justification": why},
        )  # fmt: skip
        assert session.get_one(Send, send_id).calendar_override == why


def test_an_override_needs_a_justification(desk: Desk, approved: int) -> None:
    block(desk)
    with pytest.raises(calendar.BlockOverrideError):
        schedule(desk, approved, SCHEDULED_AT, override="  ")


def test_sending_hours_hold_a_due_send_until_the_morning(desk: Desk, approved: int) -> None:
    send_id = schedule(desk, approved, rome(2099, 7, 3, 19, 55))

    assert reconcile_at(desk, rome(2099, 7, 3, 20, 30)) == []  # the beat came late
    assert "outside the sending hours 08:00-20:00" in send_row(desk, send_id)[1]
    assert reconcile_at(desk, rome(2099, 7, 4, 7, 59)) == []
    assert reconcile_at(desk, rome(2099, 7, 4, 8, 0)) == [send_id]


def test_a_holiday_is_refused_with_the_next_allowed_time(desk: Desk, approved: int) -> None:
    with pytest.raises(CalendarRefusedError, match="festività locale") as refused:
        schedule(desk, approved, rome(2099, 6, 24, 10, 0))  # San Giovanni, Turin
    assert refused.value.proposed == rome(2099, 6, 25, 8, 0)


def test_the_command_line_blocks_lists_unblocks_and_overrides(desk: Desk, approved: int) -> None:
    made = desk.run_cli(
        "calendar", "block", "--from", "2099-07-03 09:00", "--to", "2099-07-03 12:00",
        "--reason", "Referendum: par condicio",
    )  # fmt: skip
    assert made.exit_code == 0 and "block 1:" in made.output
    assert "Referendum: par condicio" in desk.run_cli("calendar", "list").output
    args = ("send", str(approved), "--list", "cronache", "--at", "2099-07-03 10:00")
    refused = desk.run_cli(*args)
    assert refused.exit_code != 0 and "Referendum: par condicio" in refused.output
    overridden = desk.run_cli(*args, "--override-block", "Comunicazione indispensabile")
    assert overridden.exit_code == 0, overridden.output
    assert desk.run_cli("calendar", "unblock", "1").exit_code == 0
    assert "Referendum" not in desk.run_cli("calendar", "list").output
    with desk.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert {"calendar.block", "send.override_block", "calendar.unblock"} <= set(actions)


def test_late_sends_and_corrections_start_now_so_a_block_refuses_them(
    desk: Desk, approved: int
) -> None:
    send_id = schedule(desk, approved, SCHEDULED_AT)
    assert reconcile_at(desk, SCHEDULED_AT) == [send_id]
    now = dt.datetime.now(dt.UTC)
    with desk.sessions.begin() as session:
        calendar.add_block(session, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1),
                           "Referendum: par condicio", "admin")  # fmt: skip

    late = desk.run_cli("send", "late", str(send_id))
    correction = desk.run_cli("send", "correction", str(send_id), "--edition", str(approved))
    for refused in (late, correction):
        assert refused.exit_code != 0 and "Referendum: par condicio" in refused.output
    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 1


def test_the_desk_shows_why_a_send_is_held(desk: Desk, approved: int) -> None:
    send_id = schedule(desk, approved, SCHEDULED_AT)
    block(desk)
    reconcile_at(desk, SCHEDULED_AT + dt.timedelta(minutes=1))
    with desk.client("editor") as editor:
        page = editor.http.get(f"/admin/editions/{approved}").text
    with desk.client("operator") as operator:
        console = operator.http.get(f"/console/sends/{send_id}").text
    assert 'data-field="held">held: calendar block' in page and "par condicio" in page
    assert "held: calendar block" in console
