"""The read-only JSON API: sends, their progress and failures, the machinery's figures.

Described by FastAPI's schema at ``/api/openapi.json`` (browsable at ``/api/docs``).
Access: a logged-in user of any role (the office watches its sends too), or a
script with ``Authorization: Bearer <API_TOKEN>``. Nothing here changes anything:
controlling sends is done on the console or with ``dispatcher send pause|resume|cancel``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel

from dispatcher.monitoring.system import WorkerFigures
from dispatcher.sends.status import watched_send_ids
from dispatcher.web.auth import require_role
from dispatcher.web.routes import console
from dispatcher.web.state import DbSession, RowId, State
from subscribers.orm import utcnow

_logged_in = require_role()


async def api_access(request: Request) -> None:
    """A matching bearer token, or else a logged-in user (401 for neither)."""
    token = console.monitoring_reader(request.app.state.web).settings.api_token
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return
    await _logged_in(request)


class ErrorOut(BaseModel):
    """An error answer: a short key saying what went wrong, and mostly the status again."""

    error: str  # e.g. "login required", "error.not_found"
    status: int | None = None


# Documented, so that clients (and the schema's fuzz test) know every answer they may get.
_NOT_LOGGED_IN: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Neither logged in nor the API token"}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No send has this id"}
}

router = APIRouter(
    prefix="/api", tags=["sends"], dependencies=[Depends(api_access)], responses=_NOT_LOGGED_IN
)


class SendOut(BaseModel):
    """A send's progress, from its batches' counters."""

    send_id: int
    edition_id: int
    subject: str
    kind: str  # normal, late (latecomers), correction
    parent_send_id: int | None
    state: str  # scheduled, running, paused, cancelled, finished
    state_reason: str
    scheduled_at: str
    started_at: str | None
    finished_at: str | None
    counts: dict[str, int]  # ledger rows per status
    total: int
    remaining: int  # queued, sending or deferred
    settled: int  # sent, failed, uncertain, bounced or complained
    rate: float | None  # messages per second, recently (running sends only)
    eta_seconds: float | None


class FailureOut(BaseModel):
    status: str  # failed, deferred or uncertain
    code: int | None
    reply: str  # addresses replaced by <address>
    count: int  # within a sample of 5,000 failed or uncertain rows and 5,000 deferred ones


class BounceOut(BaseModel):
    kind: str  # hard, soft, complaint, unsubscribe, or notice (a delay: nothing changed)
    status_code: str | None  # enhanced status code, e.g. 5.1.1
    reason: str  # the diagnostic, addresses replaced by <address>
    count: int  # within the latest 5,000 reports about the send


class SendDetailOut(SendOut):
    lists: list[str]
    bounces: list[BounceOut]
    failures: list[FailureOut]


class SystemOut(BaseModel):
    available: bool  # False when Redis, the broker or the database did not answer
    problem: str | None
    queues: dict[str, int]  # messages waiting per Celery queue
    unacked: int | None  # None: the broker does not say (RabbitMQ without management)
    workers: list[WorkerFigures]
    workers_alive: int
    workers_busy: int
    beat_seconds_ago: float | None


@router.get("/sends", response_model=list[SendOut])
def list_sends(
    session: DbSession, state: State, recent: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[SendOut]:
    """Sends not over yet, and the latest ``recent`` sends, newest first."""
    reader = console.monitoring_reader(state)
    ids = watched_send_ids(session, recent)
    return [SendOut.model_validate(f.to_dict()) for f in reader.sends(session, utcnow(), ids)]


@router.get("/sends/{send_id}", response_model=SendDetailOut, responses=_NOT_FOUND)
def get_send(send_id: RowId, session: DbSession, state: State) -> SendDetailOut:
    """One send with its lists and its failures grouped by the server's reply."""
    view = console.send_view(session, state, send_id)
    reader = console.monitoring_reader(state)
    failures = [vars(g) for g in reader.failures(session, send_id)]
    bounces = [vars(g) for g in reader.bounces(session, send_id)]
    return SendDetailOut.model_validate(view.to_dict() | {"failures": failures, "bounces": bounces})


@router.get("/system", response_model=SystemOut)
def system(state: State) -> SystemOut:
    """Queue depth, live workers and what they run, the beat's last tick."""
    return SystemOut.model_validate(console.monitoring_reader(state).system().to_dict())


def install(app: FastAPI) -> None:
    """Add the API's routes to ``app``."""
    app.include_router(router)
