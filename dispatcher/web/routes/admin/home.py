"""The office's desk (newsletters, editions and their state, sends) and the audit log."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
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
# Where the next page of a newest-first list starts: the last id shown.
PageStart = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@dataclass(frozen=True)
class EditionRow:
    edition: Edition
    newsletter: str
    approval: Approval
    state: EditionState


@viewer.get("")
def home(
    request: Request, session: DbSession, state: State, editions_before: PageStart = None
) -> Response:
    newsletters = [m for m in all_lists(session) if m.settings]
    editions = edition_rows(session, {m.id: m.slug for m in newsletters}, editions_before)
    older = editions[-2].edition.id if len(editions) > EDITIONS_SHOWN else None
    context = {
        "newsletters": [
            (m, scheduling.proposal(session, state.settings, m, utcnow())) for m in newsletters
        ],
        "editions": editions[:EDITIONS_SHOWN],
        "older_url": f"/admin?editions_before={older}#editions" if older else None,
        "newest_url": "/admin#editions" if editions_before else None,
        "upcoming": send_lines(session, scheduling.upcoming_sends(session)),
        "recent": send_lines(session, scheduling.recent_sends(session)),
        **figures.desk_context(session),
    }
    return page(request, "home.html", context)


@viewer.get("/audit")
def audit_log(
    request: Request,
    session: DbSession,
    which: Annotated[AuditFilter, Depends()],
    before: PageStart = None,
) -> Response:
    entries = audit_entries(session, AUDIT_SHOWN + 1, which, before)
    older = entries[-2].id if len(entries) > AUDIT_SHOWN else None
    filters = {k: v for k, v in dataclasses.asdict(which).items() if v not in ("", None)}
    context = {
        "entries": entries[:AUDIT_SHOWN],
        "older_url": "/admin/audit?" + urlencode({**filters, "before": older}) if older else None,
        "newest_url": "/admin/audit?" + urlencode(filters) if before else None,
        **dataclasses.asdict(which),
    }
    return page(request, "audit.html", context)


def edition_rows(
    session: Session, slugs: dict[int, str], before: int | None = None
) -> list[EditionRow]:
    """The desk's editions, newest first: one more than shown, to know if there are older."""
    rows = []
    for edition, _ in recent_editions(session, EDITIONS_SHOWN + 1, before=before):
        approval = approval_of(session, edition)
        state = edition_state(session, edition, approval)
        rows.append(EditionRow(edition, slugs.get(edition.list_id, "?"), approval, state))
    return rows
