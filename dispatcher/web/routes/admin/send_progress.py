"""A send followed live on the desk: counts, percentage, rate, ETA, failures by reply.

Every logged-in user of the office may follow a send (editors and approvers press
"send"; before, only operators could see one go). The page is complete as served
and has a refresh link; ``/static/js/send-progress.js`` polls
``/admin/sends/{id}/progress.json`` every 2 seconds, puts the figures in place,
announces changes of state (and every tenth of the way) in a polite live region,
and has a button to stop and restart the polling. The figures are the console's
read model (:mod:`dispatcher.sends.status`, through the app's one monitoring reader,
whose rate tracker gives the live rate). The actions a send allows are forms that
ask for a confirmation first (:mod:`dispatcher.web.routes.admin.send_actions`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from dispatcher.office.send_actions import (
    allowed_actions,
    correction_choices,
    desk_reason,
    get_send,
)
from dispatcher.sends.status import SendView
from dispatcher.web.i18n import choose_language, translate
from dispatcher.web.routes.admin.common import APPROVE, local_time, may, page, viewer
from dispatcher.web.routes.admin.send_actions import format_count
from dispatcher.web.routes.console import duration, monitoring_reader, send_view
from dispatcher.web.state import DbSession, RowId, State, WebState

#: The order of the action buttons on the page.
ACTIONS = ("pause", "resume", "retry", "late", "resend", "cancel")


@viewer.get("/sends/{send_id}")
def send_page(request: Request, session: DbSession, state: State, send_id: RowId) -> Response:
    figures = progress(request, session, state, send_id)
    view: SendView = figures.pop("view")
    allowed = allowed_actions(get_send(session, send_id))
    context = {
        "send": view,
        "figures": figures,
        "actions": {a: allowed[a] for a in ACTIONS if a in allowed},
        "correction_states": allowed.get("correction", ()),
        "corrections": correction_choices(session, send_id) if may(request, APPROVE) else [],
        "can_correct": view.state in allowed.get("correction", ()) and view.started_at is not None,
        "when": local_time,
    }
    return page(request, "send.html", context)


@viewer.get("/sends/{send_id}/progress.json")
def send_progress(
    request: Request, session: DbSession, state: State, send_id: RowId
) -> JSONResponse:
    figures = progress(request, session, state, send_id)
    figures.pop("view")
    return JSONResponse(figures, headers={"Cache-Control": "no-store"})


def progress(request: Request, session: Session, state: WebState, send_id: int) -> dict[str, Any]:
    """The send's figures as the page shows them, formatted in the page's language.

    :raises NotFoundError: if there is no such send
    """
    language = choose_language(request)
    view = send_view(session, state, send_id)

    def number(value: int) -> str:
        return format_count(value, language)

    counts = view.counts
    done = view.total - view.remaining
    percent = 100 if view.total == 0 else int(done * 100 // view.total)
    figures = {
        "state": view.state,
        "state_label": translate(language, f"send.{view.state}"),
        "state_reason": _reason(view.state_reason, language),
        "percent": percent,
        "sent": number(counts["sent"]),
        "failed": number(counts["failed"] + counts["uncertain"]),
        "deferred": number(counts["deferred"]),
        "remaining": number(view.remaining),
        "total": number(view.total),
        "rate": _rate(view.rate, language),
        "eta": duration(view.eta_seconds) if view.state == "running" else "–",
        "finished_at": local_time(view.finished_at) or "–",
        "failures": _failures(session, state, send_id, language),
    }
    figures["summary"] = translate(language, "sendpage.summary", **_summary(figures))
    return figures | {"view": view}


def _reason(reason: str, language: str) -> str:
    """The state's reason; a pause or cancel from the desk in the page's language."""
    found = desk_reason(reason)
    if found is None:
        return reason
    action, actor = found
    return translate(language, f"sendpage.reason.{action}", actor=actor)


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    names = ("percent", "sent", "failed", "remaining")
    return {"state": figures["state_label"], **{name: figures[name] for name in names}}


def _rate(rate: float | None, language: str) -> str:
    if not rate:
        return "–"
    shown = f"{rate:,.1f}"
    if language == "it":
        shown = shown.translate(str.maketrans(",.", ".,"))
    return translate(language, "sendpage.rate_value", rate=shown)


def _failures(
    session: Session, state: WebState, send_id: int, language: str
) -> list[dict[str, str]]:
    groups = monitoring_reader(state).failures(session, send_id)
    return [
        {
            "count": format_count(group.count, language),
            "status": translate(language, f"console.status.{group.status}"),
            "code": "–" if group.code is None else str(group.code),
            "reply": group.reply,
        }
        for group in groups
    ]
