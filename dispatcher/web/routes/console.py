"""The operators' console: sends with counts, rate and ETA; queues, workers and the beat.

Pages are rendered complete on the server (they work without JavaScript); a few
lines of script fetch the page's JSON every 2 seconds and update the figures in
place. Every look reads the batches' counters and a few Redis keys, never the
ledger as a whole, so it stays fast during a million-message send. Pause,
resume and cancel are forms (CSRF-checked by the router); a resumed send's
batches are dispatched by the reconciler at its next tick.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import User
from dispatcher.monitoring.reader import MonitoringReader
from dispatcher.office.users import audit
from dispatcher.sends import control
from dispatcher.sends.status import SendView, iso
from dispatcher.web.auth import admin_router
from dispatcher.web.i18n import choose_language, translate
from dispatcher.web.state import DbSession, RowId, State, WebState
from dispatcher.web.templating import WEB_TEMPLATES, render
from subscribers.orm import utcnow

router = admin_router("/console", roles=("operator",))

LOCAL_ZONE = ZoneInfo("Europe/Rome")
ASSETS = WEB_TEMPLATES / "console"
ASSET_TYPES = {"console.js": "text/javascript", "console.css": "text/css"}
#: The ledger's statuses in the order the console shows them (texts: ``console.status.*``).
STATUS_ORDER = (
    "queued",
    "sending",
    "deferred",
    "sent",
    "failed",
    "uncertain",
    "skipped",
    "bounced",
    "complained",
)
_READER = "console.monitoring"
_RESULTS = {"paused", "resumed", "cancelled", "refused"}


def monitoring_reader(state: WebState) -> MonitoringReader:
    """The app's one monitoring reader (shared with the API and ``/metrics``)."""
    reader = state.extras.get(_READER)
    if not isinstance(reader, MonitoringReader):
        reader = state.extras[_READER] = MonitoringReader(state.settings)
    return reader


@router.get("")
def overview(request: Request, session: DbSession, state: State) -> Response:
    return render(request, "console/index.html", _overview(session, state) | _page(request))


@router.get("/figures.json")
def overview_json(session: DbSession, state: State) -> JSONResponse:
    figures = _overview(session, state)
    sends = [s.to_dict() for s in figures["sends"]]
    return JSONResponse({"sends": sends, "system": figures["system"].to_dict()})


@router.get("/sends/{send_id}")
def send_page(request: Request, send_id: RowId, session: DbSession, state: State) -> Response:
    result = request.query_params.get("result")
    context = _send(session, state, send_id) | _page(request)
    context["result"] = result if result in _RESULTS else None
    return render(request, "console/send.html", context)


@router.get("/sends/{send_id}/figures.json")
def send_json(send_id: RowId, session: DbSession, state: State) -> JSONResponse:
    figures = _send(session, state, send_id)
    return JSONResponse(
        {
            "send": figures["send"].to_dict(),
            "failures": [vars(g) for g in figures["failures"]],
            "bounces": [vars(g) for g in figures["bounces"]],
            "system": figures["system"].to_dict(),
        }
    )


@router.post("/sends/{send_id}/pause")
def pause(
    request: Request, send_id: RowId, state: State, reason: Annotated[str, Form()] = ""
) -> Response:
    return _stop(request, state, send_id, "paused", reason)


@router.post("/sends/{send_id}/resume")
def resume(request: Request, send_id: RowId, state: State) -> Response:
    user = _user(request)
    return _control(
        state, send_id, "resumed", lambda s: control.resume_send(s, send_id, utcnow()), user, ""
    )


@router.post("/sends/{send_id}/cancel")
def cancel(
    request: Request,
    send_id: RowId,
    state: State,
    confirm: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        return RedirectResponse(f"/console/sends/{send_id}?result=refused", status_code=303)
    return _stop(request, state, send_id, "cancelled", reason)


@router.get("/assets/{name}")
def asset(name: str) -> Response:
    if name not in ASSET_TYPES:
        raise NotFoundError(f"no console asset {name}")
    headers = {"Cache-Control": "max-age=300"}
    return FileResponse(ASSETS / name, media_type=ASSET_TYPES[name], headers=headers)


def _control(
    state: WebState,
    send_id: int,
    done: str,
    action: Callable[[Session], object],
    user: User,
    reason: str,
) -> Response:
    """Run one control in its own transaction; a refusal is shown, not raised."""
    try:
        with state.sessions.begin() as session:
            action(session)
            audit(session, user.username, f"send.{done}", "send", send_id, reason=reason)
    except StateError:
        done = "refused"
    return RedirectResponse(f"/console/sends/{send_id}?result={done}", status_code=303)


def _stop(request: Request, state: WebState, send_id: int, done: str, reason: str) -> Response:
    """Pause or cancel, with the operator's reason or one naming who did it from here."""
    user = _user(request)
    text = reason.strip() or f"{done} from the console by {user.username}"
    stop = control.pause_send if done == "paused" else control.cancel_send
    return _control(state, send_id, done, lambda s: stop(s, send_id, text, utcnow()), user, text)


def _overview(session: Session, state: WebState) -> dict[str, Any]:
    reader = monitoring_reader(state)
    return {"sends": reader.sends(session, utcnow()), "system": reader.system(session=session)}


def _send(session: Session, state: WebState, send_id: int) -> dict[str, Any]:
    reader = monitoring_reader(state)
    view = send_view(session, state, send_id)
    return {
        "send": view,
        "lists": view.lists,
        "failures": reader.failures(session, send_id),
        "bounces": reader.bounces(session, send_id),
        "system": reader.system(session=session),
    }


def send_view(session: Session, state: WebState, send_id: int) -> SendView:
    """One send as the console, the API and ``/metrics`` see it.

    :raises NotFoundError: if there is no such send
    """
    found = monitoring_reader(state).sends(session, utcnow(), [send_id])
    if not found:
        raise NotFoundError(f"no send with id {send_id}")
    return found[0]


def _page(request: Request) -> dict[str, Any]:
    """What both pages need: state and status names for the script, number formatting."""
    language = choose_language(request)
    labels = {
        key: translate(language, f"console.{kind}.{key}")
        for kind, keys in (("state", ("scheduled", "running", "paused", "cancelled", "finished")),
                           ("status", STATUS_ORDER))
        for key in keys
    }  # fmt: skip
    return {
        "statuses": STATUS_ORDER,
        "labels_json": json.dumps(labels, ensure_ascii=False),
        "number": lambda n: _number(n, language),
        "duration": duration,
        "when": local_time,
    }


def _number(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "it" else text


def local_time(when: dt.datetime | str | None) -> str:
    """A time of the figures (or its ISO text) Rome time, to the second."""
    text = when if isinstance(when, str) or when is None else iso(when)
    if not text:
        return "–"
    return dt.datetime.fromisoformat(text).astimezone(LOCAL_ZONE).strftime("%d/%m/%Y %H:%M:%S")


def _user(request: Request) -> User:
    user: User = request.state.user  # set by the router's login dependency
    return user


def duration(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``12 s``: an ETA for people."""
    if seconds is None:
        return "–"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def install(app: FastAPI) -> None:
    """Add the console's routes to ``app``."""
    app.include_router(router)
