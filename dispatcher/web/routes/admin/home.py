"""The office's desk (newsletters, editions and their state, sends) and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.models import AuditEntry, Edition, Send
from dispatcher.office import scheduling
from dispatcher.office.approvals import Approval, EditionState, approval_of, edition_state
from dispatcher.web.routes.admin.common import VIEW, RoleRouters, office_router, page
from dispatcher.web.routes.admin.editions import list_slugs
from dispatcher.web.state import DbSession
from subscribers.orm import utcnow
from subscribers.service import all_lists

viewer = office_router(VIEW)
ROUTERS: RoleRouters = ((VIEW, viewer),)

EDITIONS_SHOWN = 50
AUDIT_SHOWN = 200


@dataclass(frozen=True)
class EditionRow:
    edition: Edition
    newsletter: str
    approval: Approval
    state: EditionState


@dataclass(frozen=True)
class SendLine:
    send: Send
    subject: str
    lists: tuple[str, ...]


@viewer.get("")
def home(request: Request, session: DbSession) -> Response:
    newsletters = [m for m in all_lists(session) if m.settings]
    context = {
        "newsletters": [(m, scheduling.proposed_time(m, utcnow())) for m in newsletters],
        "editions": edition_rows(session, {m.id: m.slug for m in newsletters}),
        "upcoming": send_lines(session, scheduling.upcoming_sends(session)),
        "recent": send_lines(session, scheduling.recent_sends(session)),
    }
    return page(request, "home.html", context)


@viewer.get("/audit")
def audit_log(
    request: Request,
    session: DbSession,
    target_type: str = "",
    target_id: int | None = None,
    username: str = "",
) -> Response:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_SHOWN)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    if username:
        query = query.where(AuditEntry.username == username)
    filters = {"target_type": target_type, "target_id": target_id, "username": username}
    return page(request, "audit.html", {"entries": list(session.scalars(query)), **filters})


def edition_rows(session: Session, slugs: dict[int, str]) -> list[EditionRow]:
    editions = session.scalars(select(Edition).order_by(Edition.id.desc()).limit(EDITIONS_SHOWN))
    rows = []
    for edition in editions:
        approval = approval_of(session, edition)
        state = edition_state(session, edition, approval)
        rows.append(EditionRow(edition, slugs.get(edition.list_id, "?"), approval, state))
    return rows


def send_lines(session: Session, sends: list[Send]) -> list[SendLine]:
    query = select(Edition.id, Edition.subject).where(Edition.id.in_({s.edition_id for s in sends}))
    subjects: dict[int, str] = {row[0]: row[1] for row in session.execute(query)}
    return [SendLine(s, subjects.get(s.edition_id, ""), list_slugs(session, s.id)) for s in sends]
