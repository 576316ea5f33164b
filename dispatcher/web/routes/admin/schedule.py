"""Scheduling in the browser: schedule a send, move or cancel it before it starts, weekly slots.

Times are typed and shown on the office's clock (Europe/Rome) and stored in UTC.
The beat starts a send when its time comes; these pages never start one.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.errors import DispatcherError
from dispatcher.office import scheduling
from dispatcher.office.calendar import BlockOverrideError
from dispatcher.office.edition_store import editions_of, get_edition
from dispatcher.sends.lookups import edition_of_send
from dispatcher.web.routes.admin import figures
from dispatcher.web.routes.admin.common import (
    ADMIN,
    actor,
    approver,
    attempt_or_show,
    flash,
    local_time,
    may,
    page,
    problem,
    see_other,
    viewer,
)
from dispatcher.web.routes.admin.editions import edition_shown
from dispatcher.web.routes.admin.send_actions import ask_send_now
from dispatcher.web.state import DbSession, RowId, State, WebState
from subscribers.orm import utcnow
from subscribers.service import get_list

ListsField = Annotated[list[str] | None, Form()]
TextField = Annotated[str, Form()]


@approver.post("/editions/{edition_id}/sends")
def schedule(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    lists: ListsField = None,
    at: TextField = "",
    now: TextField = "",
    override: TextField = "",
) -> Response:
    get_edition(session, edition_id)
    if now:  # "send now" asks first, saying how many it reaches (send_actions.py)
        return ask_send_now(request, session, state, edition_id, lists or [], override)

    def action() -> Response:
        if override.strip() and not may(request, ADMIN):
            refused = BlockOverrideError("only an admin may override a calendar block")
            raise refused.coded("calendar.override_admin")
        when = scheduling.parse_local(at)
        send = scheduling.schedule_send(
            session,
            edition_id,
            lists or [],
            when,
            actor=actor(request),
            settings=state.settings,
            now=utcnow(),
            override=override if override.strip() else None,
        )
        flash(request, "flash.scheduled", send=send.id, at=local_time(send.scheduled_at))
        return see_other(f"/admin/editions/{edition_id}#sends")

    return attempt_or_show(session, action, edition_shown(request, session, state, edition_id))


@approver.post("/sends/{send_id}/reschedule")
def reschedule(
    request: Request, session: DbSession, state: State, send_id: RowId, at: TextField = ""
) -> Response:
    edition_id = edition_of_send(session, send_id)

    def action() -> Response:
        when = scheduling.parse_local(at)
        send = scheduling.reschedule_send(
            session, send_id, when, actor=actor(request), settings=state.settings, now=utcnow()
        )
        flash(request, "flash.rescheduled", send=send_id, at=local_time(send.scheduled_at))
        return see_other(f"/admin/editions/{edition_id}#sends")

    shown = edition_shown(request, session, state, edition_id)
    return attempt_or_show(session, action, shown)


@approver.post("/sends/{send_id}/unschedule")
def unschedule(request: Request, session: DbSession, state: State, send_id: RowId) -> Response:
    edition_id = edition_of_send(session, send_id)

    def action() -> Response:
        scheduling.unschedule_send(session, send_id, actor=actor(request))
        flash(request, "flash.unscheduled", send=send_id)
        return see_other(f"/admin/editions/{edition_id}#sends")

    shown = edition_shown(request, session, state, edition_id)
    return attempt_or_show(session, action, shown, DispatcherError)


@viewer.get("/lists/{slug}")
def newsletter_view(request: Request, session: DbSession, state: State, slug: str) -> Response:
    return _newsletter_page(request, session, state, slug)


@dataclass(frozen=True)
class SlotForm:
    """The weekly slot form: a weekday and a time, or the clear button."""

    weekday: str
    time: str
    clear: bool

    def slot(self) -> tuple[int, dt.time] | None:
        """:raises InputError: if the weekday or the time cannot be read"""
        if self.clear:
            return None
        return scheduling.parse_weekday(self.weekday), scheduling.parse_clock(self.time)


def _slot_form(weekday: TextField = "", time: TextField = "", clear: TextField = "") -> SlotForm:
    return SlotForm(weekday, time, bool(clear))


@approver.post("/lists/{slug}/slot")
def set_slot(
    request: Request,
    session: DbSession,
    state: State,
    slug: str,
    form: Annotated[SlotForm, Depends(_slot_form)],
) -> Response:
    def action() -> Response:
        slot = form.slot()
        scheduling.set_weekly_slot(session, slug, slot, actor(request))
        flash(request, "flash.slot_cleared" if slot is None else "flash.slot_set")
        return see_other(f"/admin/lists/{slug}")

    shown = functools.partial(_newsletter_page, request, session, state, slug)
    return attempt_or_show(session, action, shown)


def _newsletter_page(
    request: Request, session: Session, state: WebState, slug: str, error: Exception | None = None
) -> Response:
    newsletter = get_list(session, slug)
    context = {
        "newsletter": newsletter,
        "editions": editions_of(session, newsletter.id),
        "proposed": scheduling.proposal(session, state.settings, newsletter, utcnow()),
        "weekdays": scheduling.WEEKDAYS,
        "problem": problem(error) if error else None,
        **figures.list_context(session, newsletter.id),
    }
    return page(request, "newsletter.html", context, status_code=400 if error else 200)
