"""The office's desk (newsletters, editions and their state, sends) and the audit log."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.models import Edition
from dispatcher.office import scheduling
from dispatcher.office.approvals import Approval, EditionState, approval_of, edition_state
from dispatcher.office.edition_store import recent_editions
from dispatcher.office.users import AuditFilter, audit_entries
from dispatcher.web.routes.admin import figures
from dispatcher.web.routes.admin.common import page, viewer
from dispatcher.web.routes.admin.editions import send_lines
from dispatcher.web.state import DbSession, State
from subscribers.orm import utcnow
from subscribers.service import all_lists

EDITIONS_SHOWN = 50
AUDIT_SHOWN = 200


@dataclass(frozen=True)
class EditionRow:
    edition: Edition
    newsletter: str
    approval: Approval
    state: EditionState


@viewer.get("")
def home(request: Request, session: DbSession, state: State) -> Response:
    newsletters = [m for m in all_lists(session) if m.settings]
    context = {
        "newsletters": [
            (m, scheduling.proposal(session, state.settings, m, utcnow())) for m in newsletters
        ],
        "editions": edition_rows(session, {m.id: m.slug for m in newsletters}),
        "upcoming": send_lines(session, scheduling.upcoming_sends(session)),
        "recent": send_lines(session, scheduling.recent_sends(session)),
        **figures.desk_context(session),
    }
    return page(request, "home.html", context)


@viewer.get("/audit")
def audit_log(
    request: Request, session: DbSession, which: Annotated[AuditFilter, Depends()]
) -> Response:
    entries = audit_entries(session, AUDIT_SHOWN, which)
    return page(request, "audit.html", {"entries": entries, **dataclasses.asdict(which)})


def edition_rows(session: Session, slugs: dict[int, str]) -> list[EditionRow]:
    rows = []
    for edition, _ in recent_editions(session, EDITIONS_SHOWN):
        approval = approval_of(session, edition)
        state = edition_state(session, edition, approval)
        rows.append(EditionRow(edition, slugs.get(edition.list_id, "?"), approval, state))
    return rows
