"""The sending calendar: blocks, holidays and sending hours, and what they refuse.

Three things keep a send from starting, all on the office's clock (Europe/Rome):
a **block** the office entered (an election's par condicio period: law 28/2000,
art. 9 lets a public administration communicate only what is impersonal and
indispensable from the calling of an election to the close of voting), a
**non-sending day** (the national holidays, computed, and ``LOCAL_HOLIDAYS``),
and the **sending hours** (``SENDING_HOURS``). A send is refused when it is
scheduled inside any of them, with the reason and the next allowed time; one
whose time comes inside them (a block added after it was scheduled, a send
scheduled for 19:59 whose start slipped) is held by the reconciler's start gate
with the reason shown, and starts when they end. An admin may override a block,
not the days or hours, for one send with a recorded justification.

Services take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.errors import InputError, NotFoundError, StateError
from dispatcher.models import CalendarBlock, Send, SendState
from dispatcher.office.holidays import SendingDays, parse_hours, parse_local_holidays
from dispatcher.office.users import audit

ZONE = ZoneInfo("Europe/Rome")
#: How far ahead :func:`next_allowed` looks before giving up (a year of blocks is absurd).
HORIZON = dt.timedelta(days=400)
SHOWN = "%d/%m/%Y %H:%M"


@dataclass(frozen=True)
class Refusal:
    """Why a send may not start at a time, and when that reason ends (UTC)."""

    kind: str  # "block", "holiday" or "hours"
    reason: str  # the block's reason, the holiday's name, or the hours
    until: dt.datetime
    block_id: int | None = None

    def __str__(self) -> str:
        if self.kind == "block":
            return f"calendar block {self.block_id} until {_shown(self.until)}: {self.reason}"
        if self.kind == "holiday":
            return f"non-sending day: {self.reason}"
        return f"outside the sending hours {self.reason}"


class CalendarRefusedError(StateError):
    """A send asked for a time the calendar refuses; the message names the reason."""

    def __init__(self, refusal: Refusal, proposed: dt.datetime | None) -> None:
        self.refusal = refusal
        self.proposed = proposed
        then = f"; next allowed time {_shown(proposed)} (Europe/Rome)" if proposed else ""
        super().__init__(f"not at that time: {refusal}{then}")
        self.coded(
            f"calendar.refused_{refusal.kind}",
            reason=refusal.reason,
            until=refusal.until,
            proposed=proposed or "–",
        )


class BlockOverrideError(StateError):
    """An override without a justification, or from someone who is not an admin."""


def sending_days(settings: Settings) -> SendingDays:
    """The settings' holidays and hours.

    :raises ConfigurationError: if ``SENDING_HOURS`` or ``LOCAL_HOLIDAYS`` cannot be read
    """
    opens, closes = parse_hours(settings.sending_hours)
    local = parse_local_holidays(settings.local_holidays)
    return SendingDays(settings.national_holidays, local, opens, closes)


@dataclass(frozen=True)
class Calendar:
    """The blocks and the sending days, loaded once to answer many questions."""

    blocks: Sequence[CalendarBlock]
    days: SendingDays

    def refusal(self, when: dt.datetime, *, overridden: bool = False) -> Refusal | None:
        """The first reason a send may not start at ``when``, or None if it may."""
        if not overridden:
            for block in self.blocks:
                if _aware(block.starts_at) <= when < _aware(block.ends_at):
                    until = _aware(block.ends_at)
                    return Refusal("block", block.reason, until, block.id)
        local = when.astimezone(ZONE)
        name = self.days.holiday(local.date())
        if name is not None:
            return Refusal("holiday", name, _local_start(local.date() + dt.timedelta(days=1)))
        if not self.days.in_hours(local.time()):
            return Refusal("hours", self.days.hours_text, self._opening_after(local))
        return None

    def next_allowed(self, when: dt.datetime, *, overridden: bool = False) -> dt.datetime | None:
        """``when`` if a send may start then, else the first time after it that may (None:
        nothing within :data:`HORIZON`)."""
        candidate = when
        while candidate < when + HORIZON:
            refused = self.refusal(candidate, overridden=overridden)
            if refused is None:
                return candidate
            candidate = max(refused.until, candidate + dt.timedelta(minutes=1))
        return None

    def allows(self, when: dt.datetime) -> bool:
        return self.refusal(when) is None

    def _opening_after(self, local: dt.datetime) -> dt.datetime:
        day = local.date()
        if local.time() >= self.days.opens:  # past closing: tomorrow's opening
            day += dt.timedelta(days=1)
        return _local_start(day, self.days.opens)


def load(session: Session, settings: Settings, since: dt.datetime | None = None) -> Calendar:
    """The calendar with the blocks that have not ended by ``since`` (default: all)."""
    query = select(CalendarBlock).order_by(CalendarBlock.starts_at, CalendarBlock.id)
    if since is not None:
        query = query.where(CalendarBlock.ends_at > since)
    return Calendar(list(session.scalars(query)), sending_days(settings))


def check_time(
    session: Session, settings: Settings, when: dt.datetime, *, overridden: bool = False
) -> None:
    """Refuse a time the calendar does not allow, naming the reason and the next allowed time.

    :raises CalendarRefusedError: if ``when`` is blocked, a non-sending day or out of hours
    """
    calendar = load(session, settings, since=when)
    refused = calendar.refusal(when, overridden=overridden)
    if refused is not None:
        raise CalendarRefusedError(refused, calendar.next_allowed(when, overridden=overridden))


def start_gate(settings: Settings) -> Callable[[Session, Send, dt.datetime], str | None]:
    """The reconciler's question for a due send: why it may not start now (None: it may).

    The blocks are read once per reconciler run, and only when a send is due.
    """
    loaded: list[Calendar] = []

    def held(session: Session, send: Send, now: dt.datetime) -> str | None:
        if not loaded:
            loaded.append(load(session, settings, since=now))
        refused = loaded[0].refusal(now, overridden=bool(send.calendar_override))
        return None if refused is None else f"held: {refused}"

    return held


def record_override(session: Session, send: Send, justification: str, actor: str) -> None:
    """Let one send through the calendar's blocks, keeping who and why in the audit log.

    :raises BlockOverrideError: if the justification is empty
    """
    text = justification.strip()
    if not text:
        raise BlockOverrideError("an override of a calendar block needs a justification").coded(
            "calendar.override_reason"
        )
    send.calendar_override = text
    audit(session, actor, "send.override_block", "send", send.id, justification=text)


def add_block(
    session: Session, starts: dt.datetime, ends: dt.datetime, reason: str, actor: str
) -> CalendarBlock:
    """Block sending from ``starts`` to ``ends`` (UTC), for ``reason``.

    :raises InputError: if the period is empty or the reason missing
    """
    if ends <= starts:
        raise InputError("a block must end after it starts").coded("calendar.block_order")
    if not reason.strip():
        raise InputError("a block needs a reason (it is shown to whoever is refused)").coded(
            "calendar.block_reason"
        )
    block = CalendarBlock(starts_at=starts, ends_at=ends, reason=reason.strip(), created_by=actor)
    session.add(block)
    session.flush()
    detail = {"starts_at": starts.isoformat(), "ends_at": ends.isoformat(), "reason": block.reason}
    audit(session, actor, "calendar.block", "calendar_block", block.id, **detail)
    return block


def remove_block(session: Session, block_id: int, actor: str) -> CalendarBlock:
    """:raises NotFoundError: if there is no such block"""
    block = session.get(CalendarBlock, block_id)
    if block is None:
        raise NotFoundError(f"no calendar block with id {block_id}")
    detail = {"reason": block.reason, "starts_at": _aware(block.starts_at).isoformat()}
    audit(session, actor, "calendar.unblock", "calendar_block", block_id, **detail)
    session.delete(block)
    return block


def list_blocks(session: Session, since: dt.datetime | None = None) -> list[CalendarBlock]:
    """Blocks (those not ended by ``since``, if given), the earliest first."""
    query = select(CalendarBlock).order_by(CalendarBlock.starts_at, CalendarBlock.id)
    if since is not None:
        query = query.where(CalendarBlock.ends_at > since)
    return list(session.scalars(query))


def sends_inside(session: Session, starts: dt.datetime, ends: dt.datetime) -> list[int]:
    """Ids of the scheduled sends (not overridden) whose time falls in a period."""
    query = select(Send.id).where(
        Send.state == SendState.SCHEDULED.value,
        Send.calendar_override.is_(None),
        Send.scheduled_at >= starts,
        Send.scheduled_at < ends,
    )
    return list(session.scalars(query.order_by(Send.scheduled_at, Send.id)))


def _local_start(day: dt.date, at: dt.time = dt.time(0, 0)) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=ZONE).astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _shown(value: dt.datetime) -> str:
    return _aware(value).astimezone(ZONE).strftime(SHOWN)
