"""Proofs from the browser: the edition to a few typed addresses, "[BOZZA]" in the subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from dispatcher.errors import DispatcherError
from dispatcher.office.proofs import parse_addresses, send_proof
from dispatcher.web.routes.admin.common import actor, attempt_or_show, editor, flash, see_other
from dispatcher.web.routes.admin.editions import edition_shown
from dispatcher.web.state import DbSession, RowId, State


@editor.post("/editions/{edition_id}/proofs")
def proof(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    addresses: Annotated[str, Form()] = "",
) -> Response:
    def action() -> Response:
        recipients = parse_addresses(addresses)
        transport = state.transport_factory()
        user = actor(request)
        results = send_proof(
            session, edition_id, recipients, transport, state.settings, state.signer, user
        )
        for result in results:
            key = "flash.proof_sent" if result.delivered else "flash.proof_failed"
            # Flashes live in the session cookie (4 KB at most): a short reply is enough.
            flash(request, key, address=result.address, reply=f"{result.code} {result.reply}"[:80])
        return see_other(f"/admin/editions/{edition_id}#proof")

    shown = edition_shown(request, session, state, edition_id, proof_addresses=addresses)
    return attempt_or_show(session, action, shown, DispatcherError)
