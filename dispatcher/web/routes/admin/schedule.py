"""Scheduling in the browser: schedule a send, move or cancel it before it starts, weekly slots.

Times are typed and shown on the office's clock (Europe/Rome) and stored in UTC.
The beat starts a send when its time comes; these pages never start one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from dispatcher.errors import DispatcherError, NotFoundError
from dispatcher.models import Edition, Send
from dispatcher.office import scheduling
from dispatcher.office.edition_store import get_edition
from dispatcher.web.routes.admin.common import (
    APPROVE,
    VIEW,
    RoleRouters,
    actor,
    attempt,
    flash,
    local_time,
    office_router,
    page,
    problem,
    see_other,
)
from dispatcher.web.routes.admin.editions import edition_page
from dispatcher.web.state import DbSession, RowId, State
from subscribers.errors import SubscribersError
from subscribers.orm import utcnow
from subscribers.service import get_list

viewer = office_router(VIEW)
approver = office_router(APPROVE)
ROUTERS: RoleRouters = ((VIEW, viewer), (APPROVE, approver))

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
) -> Response:
    get_edition(session, edition_id)
    try:
        when = utcnow() if now else scheduling.parse_local(at)
        with attempt(session):
            send = scheduling.schedule_send(
                session,
                edition_id,
                lists or [],
                when,
                actor=actor(request),
                settings=state.settings,
                now=utcnow(),
            )
    except (DispatcherError, SubscribersError, ValueError) as exc:
        return edition_page(request, session, state, edition_id, exc)
    flash(request, "flash.scheduled", send=send.id, at=local_time(send.scheduled_at))
    return see_other(f"/admin/editions/{edition_id}#sends")


@approver.post("/sends/{send_id}/reschedule")
def reschedule(
    request: Request, session: DbSession, state: State, send_id: RowId, at: TextField = ""
) -> Response:
    edition_id = _edition_of(session, send_id)
    try:
        when = scheduling.parse_local(at)
        with attempt(session):
            send = scheduling.reschedule_send(
                session, send_id, when, actor=actor(request), settings=state.settings, now=utcnow()
            )
    except (DispatcherError, ValueError) as exc:
        return edition_page(request, session, state, edition_id, exc)
    flash(request, "flash.rescheduled", send=send_id, at=local_time(send.scheduled_at))
    return see_other(f"/admin/editions/{edition_id}#sends")


@approver.post("/sends/{send_id}/unschedule")
def unschedule(request: Request, session: DbSession, state: State, send_id: RowId) -> Response:
    edition_id = _edition_of(session, send_id)
    try:
        with attempt(session):
            scheduling.unschedule_send(session, send_id, actor=actor(request))
    except DispatcherError as exc:
        return edition_page(request, session, state, edition_id, exc)
    flash(request, "flash.unscheduled", send=send_id)
    return see_other(f"/admin/editions/{edition_id}#sends")


@viewer.get("/lists/{slug}")
def newsletter_view(request: Request, session: DbSession, slug: str) -> Response:
    return _newsletter_page(request, session, slug)


@approver.post("/lists/{slug}/slot")
def set_slot(
    request: Request,
    session: DbSession,
    slug: str,
    weekday: TextField = "",
    time: TextField = "",
    clear: TextField = "",
) -> Response:
    try:
        slot = None if clear else (scheduling.parse_weekday(weekday), scheduling.parse_clock(time))
        with attempt(session):
            scheduling.set_weekly_slot(session, slug, slot, actor(request))
    except (DispatcherError, SubscribersError, ValueError) as exc:
        return _newsletter_page(request, session, slug, exc)
    flash(request, "flash.slot_cleared" if slot is None else "flash.slot_set")
    return see_other(f"/admin/lists/{slug}")


def _newsletter_page(
    request: Request, session: DbSession, slug: str, error: Exception | None = None
) -> Response:
    newsletter = get_list(session, slug)
    editions = session.scalars(
        select(Edition).where(Edition.list_id == newsletter.id).order_by(Edition.number.desc())
    )
    context = {
        "newsletter": newsletter,
        "editions": list(editions),
        "proposed": scheduling.proposed_time(newsletter, utcnow()),
        "weekdays": scheduling.WEEKDAYS,
        "problem": problem(error) if error else None,
    }
    return page(request, "newsletter.html", context, status_code=400 if error else 200)


def _edition_of(session: DbSession, send_id: int) -> int:
    edition_id = session.scalar(select(Send.edition_id).where(Send.id == send_id))
    if edition_id is None:
        raise NotFoundError(f"no send with id {send_id}")
    return edition_id
