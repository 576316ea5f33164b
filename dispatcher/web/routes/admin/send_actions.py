"""Every send action in the browser, each confirmed on a page that says what will happen.

A form asks (``.../ask``): the page answers with the plan of
:mod:`dispatcher.office.send_actions` ("Invia ora a 2.027 iscritti di Cronache?"),
or with the reason it cannot be done, in the page's language. Confirming posts the
CSRF token and a confirmation token that binds what the page showed (the count,
the send's state, the latest send of the edition); if that changed meanwhile, the
page says so and asks again. A send that starts has its ledger written in the same
transaction, and its ``queued`` rows must be the count that was confirmed, or
nothing is done and the page asks again. Pressing the button twice cannot start two
sends: the second confirmation finds the edition already sent (or the latest send
of the edition changed) and asks again instead.

Sending, retrying, pausing, resuming and cancelling need the approver role (admins
may too); the beat's reconciler dispatches the batches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.errors import InputError, NewsletterError, NotFoundError, StateError
from dispatcher.office import send_actions
from dispatcher.office.approvals import NotApprovedError
from dispatcher.office.calendar import BlockOverrideError, CalendarRefusedError
from dispatcher.office.send_actions import SendPlan
from dispatcher.web.i18n import choose_language, translate
from dispatcher.web.routes.admin.common import (
    ADMIN,
    acting_user,
    approver,
    flash,
    may,
    page,
    problem,
    see_other,
)
from dispatcher.web.state import DbSession, RowId, State, WebState
from subscribers.orm import utcnow

TextField = Annotated[str, Form()]
ListsField = Annotated[list[str] | None, Form()]
CountField = Annotated[int, Form(ge=0, le=2**62)]
EditionField = Annotated[int | None, Form(ge=1, le=2**63 - 1)]


@approver.post("/editions/{edition_id}/send/ask")
def ask_send(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    lists: ListsField = None,
    override: TextField = "",
) -> Response:
    return ask_send_now(request, session, state, edition_id, lists or [], override)


@approver.post("/editions/{edition_id}/send/confirm")
def confirm_send(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    token: TextField,
    shown: CountField,
    lists: ListsField = None,
    override: TextField = "",
) -> Response:
    def plan() -> SendPlan:
        send_actions.lock_edition(session, edition_id)
        return _plan_send(request, state, session, edition_id, lists or [], override)

    step = Step(request, session, state, f"/admin/editions/{edition_id}", override)
    return step.confirm(plan, token, shown)


@approver.post("/sends/{send_id}/actions/{action}/ask")
def ask_on_send(
    request: Request,
    session: DbSession,
    state: State,
    send_id: RowId,
    action: str,
    edition: EditionField = None,
) -> Response:
    def plan() -> SendPlan:
        return send_actions.plan_on_send(
            session, state.settings, send_id, action, utcnow(), edition
        )

    return Step(request, session, state, f"/admin/sends/{send_id}", send_id=send_id).ask(plan)


@approver.post("/sends/{send_id}/actions/{action}/confirm")
def confirm_on_send(
    request: Request,
    session: DbSession,
    state: State,
    send_id: RowId,
    action: str,
    token: TextField,
    shown: CountField,
    edition: EditionField = None,
) -> Response:
    def plan() -> SendPlan:
        send_actions.lock_send(session, send_id)
        return send_actions.plan_on_send(
            session, state.settings, send_id, action, utcnow(), edition
        )

    step = Step(request, session, state, f"/admin/sends/{send_id}", send_id=send_id)
    return step.confirm(plan, token, shown)


#: Core refusals by class, the most specific first: the key of the page's explanation.
#: A calendar refusal says which rule refused and the next allowed time (its own key,
#: through :func:`common.problem`); the others need no values but the send's state.
REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (NotApprovedError, "sendact.refused.not_approved"),
    (CalendarRefusedError, "problem.calendar"),
    (BlockOverrideError, "sendact.refused.override"),
    (StateError, "sendact.refused.state"),
    (NotFoundError, "sendact.refused.not_found"),
    (InputError, "sendact.refused.no_list"),  # the one input a send action takes
)


def ask_send_now(
    request: Request,
    session: Session,
    state: WebState,
    edition_id: int,
    lists: list[str],
    override: str = "",
) -> Response:
    """The confirmation of "send now" (also what the schedule form's "Invia ora" shows)."""

    def plan() -> SendPlan:
        return _plan_send(request, state, session, edition_id, lists, override)

    return Step(request, session, state, f"/admin/editions/{edition_id}", override).ask(plan)


def _plan_send(
    request: Request, state: WebState, session: Session, edition_id: int, lists: list[str],
    override: str,
) -> SendPlan:  # fmt: skip
    if not lists:
        raise InputError("a send needs at least one list")
    overridden = _override(request, override) is not None
    return send_actions.plan_send(
        session, state.settings, edition_id, lists, utcnow(), overridden=overridden
    )


Planner = Callable[[], SendPlan]


@dataclass
class Step:
    """One request of a send action: the page it answers with, and where "no" goes back to."""

    request: Request
    session: Session
    state: WebState
    back: str
    override: str = ""
    send_id: int | None = None

    def ask(self, make_plan: Planner, changed: dict[str, Any] | None = None) -> Response:
        """The confirmation page (again, saying what ``changed``), or the refusal."""
        try:
            with self.session.begin_nested():
                plan = make_plan()
        except NewsletterError as exc:
            return self.refused(exc)
        context = {
            "plan": plan,
            "question": _question(self.request, plan),
            "number": self.number,
            "token": confirmation_token(self.request, plan),
            "target": _target(plan),
            "back": self.back,
            "override": self.override.strip(),
            "changed": changed,
        }
        status = 409 if changed else 200
        return page(self.request, "send_confirm.html", context, status_code=status)

    def confirm(self, make_plan: Planner, token: str, shown: int) -> Response:
        """Do the action if the plan is still the one confirmed; else ask again."""
        try:
            nested = self.session.begin_nested()
            plan = make_plan()
            done = self._carry_out(plan, token) if plan.possible else None
            if done is None:
                nested.rollback()
                return self.ask(make_plan, {"before": self.number(shown)})
            nested.commit()
        except NewsletterError as exc:
            return self.refused(exc)
        send_id, reached = done
        values = {"send": send_id, "count": self.number(reached)}
        flash(self.request, f"sendact.done.{plan.action}", **values)
        return see_other(f"/admin/sends/{send_id}")

    def _carry_out(self, plan: SendPlan, token: str) -> tuple[int, int] | None:
        """:returns: the send and how many it reaches, or None if the plan changed"""
        if not hmac.compare_digest(token, confirmation_token(self.request, plan)):
            return None
        user = acting_user(self.request).username
        override = self.override.strip() or None
        send_id = send_actions.carry_out(
            self.session, self.state.settings, plan, user, utcnow(), override
        )
        if plan.action not in send_actions.REACHING:
            return send_id, plan.count
        reached = send_actions.queued(self.session, send_id)
        # Someone joined or left between the look and the ledger: ask again.
        return (send_id, reached) if reached == plan.count else None

    def refused(self, exc: NewsletterError) -> Response:
        found = refusal(self.session, exc, self.send_id)
        if "state" in found["values"]:
            language = choose_language(self.request)
            found["values"]["state"] = translate(language, f"send.{found['values']['state']}")
        context = {"refusal": found, "back": self.back}
        return page(self.request, "send_confirm.html", context, status_code=409)

    def number(self, value: int) -> str:
        return format_count(value, choose_language(self.request))


def refusal(session: Session, exc: Exception, send_id: int | None = None) -> dict[str, Any]:
    """A core refusal as the page's explanation: a text key and its values, never the
    core's own English words (nor its command-line advice)."""
    if isinstance(exc, CalendarRefusedError):
        found = problem(exc)
        return {"key": found["key"], "values": found.get("values", {})}
    key = next((k for kind, k in REFUSALS if isinstance(exc, kind)), "problem.other")
    if key != "sendact.refused.state":
        return {"key": key, "values": {}}
    state = send_actions.state_of(session, send_id)
    if state is None:
        return {"key": "sendact.refused.state_edition", "values": {}}
    return {"key": key, "values": {"send": send_id, "state": state}}


def _question(request: Request, plan: SendPlan) -> dict[str, Any]:
    form = "one" if plan.count == 1 else "many"
    values = {
        "count": format_count(plan.count, choose_language(request)),
        "newsletter": plan.newsletter,
        "send": plan.send_id,
    }
    return {"key": f"sendact.ask.{plan.action}.{form}", "values": values}


def _target(plan: SendPlan) -> str:
    if plan.send_id is None:
        return f"/admin/editions/{plan.edition.id}/send/confirm"
    return f"/admin/sends/{plan.send_id}/actions/{plan.action}/confirm"


def confirmation_token(request: Request, plan: SendPlan) -> str:
    """An HMAC of the plan's binding and the user: what "yes" agrees to."""
    secret = request.app.state.web.settings.secret_keys[0].encode()
    text = f"send-action|{acting_user(request).id}|{plan.binding}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def format_count(value: int, language: str) -> str:
    """``2.027`` on Italian pages, ``2,027`` on English ones."""
    text = f"{value:,d}"
    return text.replace(",", ".") if language == "it" else text


def _override(request: Request, text: str) -> str | None:
    """An admin's calendar override (refused for others, as the schedule form does)."""
    if not text.strip():
        return None
    if not may(request, ADMIN):
        raise BlockOverrideError("only an admin may override a calendar block")
    return text.strip()
