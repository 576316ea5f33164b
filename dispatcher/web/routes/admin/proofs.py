"""Proofs from the browser: the edition to a few typed addresses, "[BOZZA]" in the subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from dispatcher.errors import DispatcherError
from dispatcher.office.proofs import parse_addresses, send_proof
from dispatcher.web.routes.admin.common import (
    EDIT,
    RoleRouters,
    actor,
    flash,
    office_router,
    see_other,
)
from dispatcher.web.routes.admin.editions import edition_page
from dispatcher.web.state import DbSession, RowId, State

editor = office_router(EDIT)
ROUTERS: RoleRouters = ((EDIT, editor),)


@editor.post("/editions/{edition_id}/proofs")
def proof(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    addresses: Annotated[str, Form()] = "",
) -> Response:
    try:
        recipients = parse_addresses(addresses)
        transport = state.transport_factory()
        results = send_proof(
            session,
            edition_id,
            recipients,
            transport,
            state.settings,
            state.signer,
            actor(request),
        )
    except DispatcherError as exc:
        return edition_page(request, session, state, edition_id, exc, proof_addresses=addresses)
    for result in results:
        key = "flash.proof_sent" if result.delivered else "flash.proof_failed"
        # Flashes live in the session cookie (4 KB at most): a short reply is enough.
        flash(request, key, address=result.address, reply=f"{result.code} {result.reply}"[:80])
    return see_other(f"/admin/editions/{edition_id}#proof")
