"""When sends go out: local times, weekly slots, and changes to a send still waiting.

The office thinks in Europe/Rome wall-clock time ("Friday at 10:00"); the database
keeps UTC. A newsletter's weekly slot is stored as a local weekday, time and zone,
never as a UTC instant, so it stays at 10:00 local across the change to and from
summer time. Nothing here starts a send by itself: the reconciler does that when
``scheduled_at`` has passed, through a conditional state change
(:func:`dispatcher.sends.ledger.start_send`), and :func:`run_reconciler` is its
one entry point, for the beat and ``dispatcher reconcile`` alike, so that the
approval gate and the sending calendar (:mod:`dispatcher.office.calendar`) apply
to both.

Services take a session and never commit; :func:`run_reconciler` is the exception,
as orphan recovery commits one dead worker's journal at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.errors import InputError, NotFoundError, StateError
from dispatcher.models import Send, SendState
from dispatcher.office import approvals, calendar
from dispatcher.office.users import audit
from dispatcher.sends import journal, ledger, recovery
from dispatcher.sends.reconcile import ReconcileReport, StartGate, reconcile
from subscribers.models import MailingList
from subscribers.orm import utcnow
from subscribers.service import get_list

#: Only approved editions may be scheduled. A one-person office may turn this off;
#: until Settings has a ``require_approval`` field, this constant is the default.
DEFAULT_ZONE = "Europe/Rome"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A time this far in the past still counts as "now" (the form took a while to submit).
PAST_TOLERANCE = dt.timedelta(minutes=2)
#: Sends that have not left yet: an edition with one of these cannot be edited.
PENDING_STATES = (SendState.SCHEDULED.value, SendState.RUNNING.value, SendState.PAUSED.value)


class TimeInPastError(StateError):
    """A send cannot be scheduled for a time that has already gone."""


class NotScheduledError(StateError):
    """The send has already started (or was cancelled): its time can no longer change."""


class EditionLockedError(StateError):
    """The edition has a send waiting or going out: unschedule it before editing."""


def approval_required(settings: Settings) -> bool:
    """Whether only approved editions may be scheduled.

    REQUIRE_APPROVAL=0 turns it off for a one-person office; the demo runs as one.
    """
    return settings.require_approval and not settings.demo


NOT_APPROVED = "not started: the edition changed since it was approved"


def start_gate(settings: Settings) -> StartGate:
    """What a due send must pass to start: the edition still approved (when approval is
    required), then the calendar (blocks, holidays, sending hours).

    :returns: the gate, which gives the reason a send is held, or None to start it
    """
    on_calendar = calendar.start_gate(settings)
    check_approval = approval_required(settings)

    def gate(session: Session, send: Send, now: dt.datetime) -> str | None:
        if check_approval and not approvals.is_approved(session, send.edition_id):
            return NOT_APPROVED
        return on_calendar(session, send, now)

    return gate


def run_reconciler(
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Callable[[], dt.datetime] = utcnow,
) -> ReconcileReport:
    """Run the reconciler once, as the beat does: the one entry point for every caller.

    Journals first: a claim taken back from its dead worker's journal is exact,
    while one whose lease ran out is taken back with its last outcomes counted as
    lost. Then one transaction starts the due sends whose edition passes
    :func:`start_gate` and does every recovery and dispatch step.

    :returns: the report; the caller enqueues ``report.enqueue`` (already committed)
    """
    folder = Path(settings.sending.journal_dir)
    database = journal.fingerprint(settings.database_url)
    recovery.recover_orphans(sessions, folder, database, settings.sending, clock)
    with sessions.begin() as session:
        return reconcile(session, settings.sending, clock(), start_gate(settings))


def zone_of(name: str) -> ZoneInfo:
    """:raises InputError: if ``name`` is not an IANA time zone"""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r}") from exc


def parse_local(text: str, zone: str = DEFAULT_ZONE) -> dt.datetime:
    """``YYYY-MM-DD HH:MM`` (or the browser's ``YYYY-MM-DDTHH:MM``) in ``zone``, as UTC.

    :raises InputError: naming the expected format
    """
    cleaned = text.strip().replace("T", " ")
    try:
        naive = dt.datetime.strptime(cleaned, "%Y-%m-%d %H:%M")
    except ValueError as exc:
        refused = InputError(f'{text!r} is not a date and time: use "YYYY-MM-DD HH:MM"')
        raise refused.coded("schedule.bad_time", value=text) from exc
    return local_to_utc(naive.date(), naive.time(), zone)


def local_to_utc(day: dt.date, at: dt.time, zone: str) -> dt.datetime:
    """The UTC instant of a wall-clock time.

    A time skipped when clocks go forward (02:30 on the last Sunday of March) is
    read with the offset before the change, i.e. it lands one hour later on the
    clock (03:30); a time that happens twice in October is its first occurrence.
    Both are zoneinfo's ``fold=0`` reading.
    """
    local = dt.datetime.combine(day, at, tzinfo=zone_of(zone))
    return local.astimezone(dt.UTC)


def to_local(when: dt.datetime, zone: str = DEFAULT_ZONE) -> dt.datetime:
    """A stored instant on the wall clock of ``zone`` (naive values are taken as UTC)."""
    aware = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone_of(zone))


def parse_weekday(text: str) -> int:
    """``mon``..``sun`` (or full English names, or 0-6) as 0 = Monday.

    :raises InputError: for anything else
    """
    word = text.strip().lower()
    if word.isdigit() and 0 <= int(word) <= 6:
        return int(word)
    if word[:3] in WEEKDAYS and len(word) >= 3:
        return WEEKDAYS.index(word[:3])
    refused = InputError(f"{text!r} is not a weekday: use {', '.join(WEEKDAYS)}")
    raise refused.coded("schedule.bad_weekday", value=text)


def parse_clock(text: str) -> dt.time:
    """``HH:MM`` as a time of day.

    :raises InputError: for anything else
    """
    try:
        return dt.datetime.strptime(text.strip(), "%H:%M").time()
    except ValueError as exc:
        refused = InputError(f"{text!r} is not a time of day: use HH:MM")
        raise refused.coded("schedule.bad_clock", value=text) from exc


def next_occurrence(weekday: int, at: dt.time, zone: str, after: dt.datetime) -> dt.datetime:
    """The first ``weekday`` at ``at`` local time strictly after ``after``, in UTC.

    The local date is stepped in days and each candidate converted on its own, so
    the slot keeps its wall-clock time whatever the UTC offset of that day.
    """
    local_now = to_local(after, zone)
    day = local_now.date() + dt.timedelta(days=(weekday - local_now.weekday()) % 7)
    candidate = local_to_utc(day, at, zone)
    if candidate <= after:
        candidate = local_to_utc(day + dt.timedelta(days=7), at, zone)
    return candidate


def proposed_time(
    mailing_list: MailingList,
    now: dt.datetime,
    allows: Callable[[dt.datetime], bool] | None = None,
) -> dt.datetime | None:
    """The next occurrence of a newsletter's weekly slot, or None if it has none.

    :param allows: the sending calendar (:meth:`calendar.Calendar.allows`): a slot that
        falls on a blocked day or a holiday moves to the next day the calendar allows, at
        the slot's time (a Monday newsletter goes out on the Tuesday after Easter, not a
        week late)
    """
    if mailing_list.weekly_weekday is None or not mailing_list.weekly_time:
        return None
    at = parse_clock(mailing_list.weekly_time)
    zone = mailing_list.timezone or DEFAULT_ZONE
    proposal = next_occurrence(mailing_list.weekly_weekday, at, zone, now)
    day = to_local(proposal, zone).date()
    for _ in range(calendar.HORIZON.days):
        if allows is None or allows(proposal):
            return proposal
        day += dt.timedelta(days=1)
        proposal = local_to_utc(day, at, zone)
    return None


def proposal(
    session: Session, settings: Settings, mailing_list: MailingList, now: dt.datetime
) -> dt.datetime | None:
    """The newsletter's next weekly slot that the calendar allows (None: it has no slot)."""
    return proposed_time(mailing_list, now, calendar.load(session, settings, since=now).allows)


def set_weekly_slot(
    session: Session,
    slug: str,
    slot: tuple[int, dt.time] | None,
    actor: str,
    zone: str = DEFAULT_ZONE,
) -> MailingList:
    """Set (or with ``slot=None`` clear) a newsletter's weekly slot.

    :raises UnknownListError: if there is no such list
    :raises ValueError: if the zone is unknown
    """
    zone_of(zone)
    mailing_list = get_list(session, slug)
    weekday, at = slot if slot is not None else (None, None)
    mailing_list.weekly_weekday = weekday
    mailing_list.weekly_time = at.strftime("%H:%M") if at is not None else None
    mailing_list.timezone = zone
    detail = {"weekday": weekday, "time": mailing_list.weekly_time, "zone": zone}
    audit(session, actor, "list.slot", "list", mailing_list.id, **detail)
    return mailing_list


def schedule_send(
    session: Session,
    edition_id: int,
    list_slugs: Sequence[str],
    when: dt.datetime,
    *,
    actor: str,
    settings: Settings,
    now: dt.datetime,
    again: bool = False,
    override: str | None = None,
) -> Send:
    """Schedule an edition to one or more lists at ``when`` (UTC; ``now`` to start at once).

    :param override: an admin's justification for sending through calendar blocks
        (par condicio); recorded with the send and in the audit log
    :raises TimeInPastError: if ``when`` has gone
    :raises CalendarRefusedError: if the calendar refuses ``when`` (naming why)
    :raises NotApprovedError: if approval is required and the edition's current
        content is not the approved one
    :raises NotFoundError: if the edition or a list does not exist
    :raises StateError: if a list already had the edition and ``again`` is not set
    """
    _refuse_past(when, now)
    check_sendable(session, edition_id, settings)
    calendar.check_time(session, settings, max(when, now), overridden=override is not None)
    send = ledger.create_send(
        session, edition_id, list_slugs, max(when, now), again=again, created_by=actor
    )
    if override is not None:
        calendar.record_override(session, send, override, actor)
    detail = {
        "edition_id": edition_id,
        "lists": list(list_slugs),
        "scheduled_at": send.scheduled_at.isoformat(),
        "again": again,
    }
    audit(session, actor, "send.schedule", "send", send.id, **detail)
    return send


def reschedule_send(
    session: Session,
    send_id: int,
    when: dt.datetime,
    *,
    actor: str,
    settings: Settings,
    now: dt.datetime,
) -> Send:
    """Move a send that has not started to another time.

    The change is one conditional UPDATE (``WHERE state = 'scheduled'``), so it
    cannot race the beat starting the send: one of the two wins.

    :raises NotScheduledError: if the send has started, finished or was cancelled
    :raises NotApprovedError: if the edition changed since it was approved
    :raises TimeInPastError: if ``when`` has gone
    :raises CalendarRefusedError: if the calendar refuses ``when`` (naming why)
    """
    _refuse_past(when, now)
    send = _get_send(session, send_id)
    check_sendable(session, send.edition_id, settings)
    overridden = bool(send.calendar_override)
    calendar.check_time(session, settings, max(when, now), overridden=overridden)
    previous = send.scheduled_at
    _change_scheduled(session, send_id, scheduled_at=max(when, now))
    detail = {"previous": previous.isoformat(), "scheduled_at": max(when, now).isoformat()}
    audit(session, actor, "send.reschedule", "send", send_id, **detail)
    return send


def unschedule_send(session: Session, send_id: int, *, actor: str) -> Send:
    """Cancel a send before it starts (no ledger is written for it).

    :raises NotScheduledError: if the send has already started or was cancelled
    """
    send = _get_send(session, send_id)
    reason = f"unscheduled by {actor}"
    _change_scheduled(session, send_id, state=SendState.CANCELLED.value, state_reason=reason)
    audit(session, actor, "send.unschedule", "send", send_id, edition_id=send.edition_id)
    return send


def check_sendable(session: Session, edition_id: int, settings: Settings) -> None:
    """Refuse an edition whose current content is not approved, when approval is required.

    Called when a send is scheduled or moved: an edition edited, or whose
    newsletter settings changed, since its approval is refused here.
    """
    if approval_required(settings):
        approvals.require_approved(session, edition_id)


def ensure_editable(session: Session, edition_id: int) -> None:
    """Refuse to change an edition while one of its sends waits or goes out.

    A scheduled send goes out when its time comes; changing its content then
    would send something nobody approved.

    :raises EditionLockedError: naming the send
    """
    waiting = session.scalar(
        select(Send.id).where(Send.edition_id == edition_id, Send.state.in_(PENDING_STATES))
    )
    if waiting is not None:
        raise EditionLockedError(
            f"edition {edition_id} has send {waiting} scheduled or in progress: "
            "unschedule it before changing the edition"
        ).coded("schedule.locked", edition=edition_id, send=waiting)


def upcoming_sends(session: Session, limit: int = 20) -> list[Send]:
    """Sends still waiting for their time, the next to go first."""
    query = select(Send).where(Send.state == SendState.SCHEDULED.value)
    return list(session.scalars(query.order_by(Send.scheduled_at, Send.id).limit(limit)))


def recent_sends(session: Session, limit: int = 10) -> list[Send]:
    """Sends that have started (or were cancelled), the latest first."""
    query = select(Send).where(Send.state != SendState.SCHEDULED.value)
    return list(session.scalars(query.order_by(Send.id.desc()).limit(limit)))


def _change_scheduled(session: Session, send_id: int, **values: object) -> None:
    changed = session.execute(
        update(Send)
        .where(Send.id == send_id, Send.state == SendState.SCHEDULED.value)
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        state = session.scalar(select(Send.state).where(Send.id == send_id))
        raise NotScheduledError(
            f"send {send_id} is {state}: only a scheduled send can change"
        ).coded("schedule.not_scheduled", send=send_id)


def _get_send(session: Session, send_id: int) -> Send:
    send = session.get(Send, send_id)
    if send is None:
        raise NotFoundError(f"no send with id {send_id}").coded("send.unknown", send=send_id)
    return send


def _refuse_past(when: dt.datetime, now: dt.datetime) -> None:
    if when < now - PAST_TOLERANCE:
        shown = to_local(when).strftime("%Y-%m-%d %H:%M")
        raise TimeInPastError(
            f"{shown} ({DEFAULT_ZONE}) has already gone: choose a later time"
        ).coded("schedule.past", when=when)
