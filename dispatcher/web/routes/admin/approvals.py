"""Approving an edition in the browser: the approver approves the hash they were shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from dispatcher.errors import DispatcherError
from dispatcher.office import approvals
from dispatcher.web.routes.admin.common import actor, approver, attempt_or_show, flash, see_other
from dispatcher.web.routes.admin.editions import edition_shown
from dispatcher.web.state import DbSession, RowId, State


@approver.post("/editions/{edition_id}/approve")
def approve(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    content_hash: Annotated[str, Form(alias="hash")],
) -> Response:
    def action() -> Response:
        approvals.approve(
            session, edition_id, actor(request), state.settings, expected_hash=content_hash
        )
        flash(request, "flash.approved", hash=content_hash[:12])
        return see_other(f"/admin/editions/{edition_id}")

    shown = edition_shown(request, session, state, edition_id)
    return attempt_or_show(session, action, shown, DispatcherError)


@approver.post("/editions/{edition_id}/revoke")
def revoke(request: Request, session: DbSession, edition_id: RowId) -> Response:
    approvals.revoke(session, edition_id, actor(request))
    flash(request, "flash.revoked")
    return see_other(f"/admin/editions/{edition_id}")
