"""The sending calendar in the browser: blocks (par condicio), holidays and sending hours.

Everyone logged in sees the page; only an admin adds or removes a block. Times are
typed and shown on the office's clock (Europe/Rome) and stored in UTC.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.office import calendar, scheduling
from dispatcher.web.routes.admin.common import (
    actor,
    administrator,
    attempt_or_show,
    flash,
    local_time,
    page,
    problem,
    see_other,
    viewer,
)
from dispatcher.web.state import DbSession, RowId, State, WebState
from subscribers.orm import utcnow

TextField = Annotated[str, Form()]


@viewer.get("/calendar")
def calendar_view(request: Request, session: DbSession, state: State) -> Response:
    return _calendar_page(request, session, state)


@administrator.post("/calendar/blocks")
def add_block(
    request: Request,
    session: DbSession,
    state: State,
    starts: TextField = "",
    ends: TextField = "",
    reason: TextField = "",
) -> Response:
    def action() -> Response:
        start_at, end_at = scheduling.parse_local(starts), scheduling.parse_local(ends)
        made = calendar.add_block(session, start_at, end_at, reason, actor(request))
        held = calendar.sends_inside(session, start_at, end_at)
        flash(request, "flash.blocked", block=made.id, held=len(held))
        return see_other("/admin/calendar")

    shown = functools.partial(_calendar_page, request, session, state)
    return attempt_or_show(session, action, shown)


@administrator.post("/calendar/blocks/{block_id}/remove")
def remove_block(request: Request, session: DbSession, state: State, block_id: RowId) -> Response:
    def action() -> Response:
        calendar.remove_block(session, block_id, actor(request))
        flash(request, "flash.unblocked", block=block_id)
        return see_other("/admin/calendar")

    shown = functools.partial(_calendar_page, request, session, state)
    return attempt_or_show(session, action, shown)


def _calendar_page(
    request: Request, session: Session, state: WebState, error: Exception | None = None
) -> Response:
    now = utcnow()
    days = calendar.sending_days(state.settings)
    context = {
        "blocks": calendar.list_blocks(session, since=now),
        "days": days,
        "local_days": [f"{d:02d}/{m:02d}" for m, d in days.local],
        "next_allowed": local_time(calendar.load(session, state.settings, now).next_allowed(now)),
        "problem": problem(error) if error else None,
    }
    return page(request, "calendar.html", context, status_code=400 if error else 200)
