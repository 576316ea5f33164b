"""What the admin's pages share: routers by role, the acting user, flashes, times, errors.

There is one router per role, defined here; each page module adds its routes to
the router of the role they need, so a route's role is where it is declared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from dispatcher.errors import EditionFileError, NewsletterError
from dispatcher.models import Role, User
from dispatcher.office.approvals import (
    ApprovalMismatchError,
    NotApprovedError,
    PreflightFailedError,
)
from dispatcher.office.calendar import BlockOverrideError, CalendarRefusedError
from dispatcher.office.images import ImageError
from dispatcher.office.proofs import ProofError
from dispatcher.office.scheduling import (
    DEFAULT_ZONE,
    EditionLockedError,
    NotScheduledError,
    TimeInPastError,
    to_local,
)
from dispatcher.office.users import has_role
from dispatcher.web.auth import admin_router
from dispatcher.web.errors import explain
from dispatcher.web.templating import environment, render
from subscribers.errors import SubscriptionStateError, UnknownListError

#: Reading the admin needs only a login; changing things needs one of these roles.
VIEW: tuple[str, ...] = ()
EDIT = (Role.EDITOR.value,)
APPROVE = (Role.APPROVER.value,)
ADMIN = (Role.ADMIN.value,)
#: People's data (addresses, what the server said about their mail) is read by those who
#: answer the public about it: editors ("did I get the newsletter?") and operators (what
#: the relay replied). Approvers have no need to; changing it stays with admins.
READ_PEOPLE = (Role.EDITOR.value, Role.OPERATOR.value)

#: Routers with the roles they need (the access tests read this).
RoleRouters = tuple[tuple[tuple[str, ...], APIRouter], ...]

# The sentence that introduces an error's English message when its key has no text yet.
_EXPLAINED: tuple[tuple[type[Exception], str], ...] = (
    (NotApprovedError, "problem.not_approved"),
    (ApprovalMismatchError, "problem.changed"),
    (PreflightFailedError, "problem.preflight"),
    (TimeInPastError, "problem.past"),
    (NotScheduledError, "problem.not_scheduled"),
    (EditionLockedError, "problem.locked"),
    (CalendarRefusedError, "problem.calendar"),
    (BlockOverrideError, "problem.override"),
    (EditionFileError, "problem.edition_file"),
    (ImageError, "problem.image"),
    (ProofError, "problem.proof"),
    (SubscriptionStateError, "problem.person_state"),
    (UnknownListError, "problem.unknown_list"),
)


#: The sentences above that introduce an error's own text rather than say it all.
_INTRODUCTIONS = {
    "problem.edition_file",
    "problem.image",
    "problem.proof",
    "problem.person_state",
    "problem.unknown_list",
    "problem.other",
}


def office_router(roles: tuple[str, ...]) -> APIRouter:
    """An ``/admin`` router: login (with ``roles``) and CSRF on every route."""
    return admin_router("/admin", roles=roles)


viewer = office_router(VIEW)
editor = office_router(EDIT)
approver = office_router(APPROVE)
administrator = office_router(ADMIN)
people_reader = office_router(READ_PEOPLE)
ROUTERS: RoleRouters = (
    (VIEW, viewer),
    (EDIT, editor),
    (APPROVE, approver),
    (ADMIN, administrator),
    (READ_PEOPLE, people_reader),
)


def acting_user(request: Request) -> User:
    """The logged-in user; the router's dependency has already checked there is one."""
    user: User = request.state.user
    return user


def actor(request: Request) -> str:
    """The name the audit log records for this request."""
    return acting_user(request).username


def may(request: Request, roles: tuple[str, ...]) -> bool:
    """Whether the user may use the routes needing ``roles`` (to show or hide buttons)."""
    return has_role(acting_user(request), *roles)


def flash(request: Request, key: str, **values: Any) -> None:
    """A message for the next page (kept in the signed session cookie, so keep it short)."""
    request.session.setdefault("flash", []).append({"key": key, "values": values})


def take_flashes(request: Request) -> list[dict[str, Any]]:
    flashes: list[dict[str, Any]] = request.session.pop("flash", [])
    return flashes


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get: a form's success leads to a page that a reload cannot repost."""
    return RedirectResponse(url, status_code=303)


def problem(exc: Exception) -> dict[str, Any]:
    """An error for a page, in the page's language (:func:`dispatcher.web.errors.explain`).

    An error the catalogues have no text for shows its class's sentence and its English
    message; one they have shows its own text, after its class's sentence when that
    sentence is an introduction ("Immagine non accettata:").
    """
    general = next((k for kind, k in _EXPLAINED if isinstance(exc, kind)), "problem.other")
    shown = explain(exc, general)
    if shown["key"] != general and general in _INTRODUCTIONS:
        shown["intro"] = general
    return shown


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """Run a service in a savepoint, so that a failure undoes its half-made changes.

    The request's transaction still commits what came before (and the audit log).
    """
    with session.begin_nested():
        yield


def attempt_or_show(
    session: Session,
    action: Callable[[], Response],
    show: Callable[[Exception], Response],
    refused: type[NewsletterError] = NewsletterError,
) -> Response:
    """Run a form's ``action`` in a savepoint; if a service refuses it, ``show`` the page again.

    This is not error translation (that is :mod:`dispatcher.web.errors`): the page
    comes back with the refusal next to the form, and the request still commits
    what came before the savepoint.

    :param refused: the errors that mean "show the form again"; others propagate
    """
    try:
        with attempt(session):
            return action()
    except refused as exc:
        return show(exc)


def local_time(value: dt.datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time on the office's clock (Europe/Rome), for pages."""
    if value is None:
        return ""
    return to_local(value, DEFAULT_ZONE).strftime(pattern)


def local_input(value: dt.datetime | None) -> str:
    """The value of a ``datetime-local`` field for a stored UTC time."""
    return local_time(value, "%Y-%m-%dT%H:%M")


def local_iso(value: str | None) -> str:
    """An ISO 8601 time from an export record, on the office's clock, for pages."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value)
    return local_time(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def install_filters() -> None:
    """Template filters the admin's pages use (idempotent)."""
    env = environment()
    env.filters["local"] = local_time
    env.filters["local_input"] = local_input
    env.filters["local_iso"] = local_iso


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render an admin page with its flashes and what the user may do."""
    values = {
        "flashes": take_flashes(request),
        "can_edit": may(request, EDIT),
        "can_approve": may(request, APPROVE),
        "is_admin": may(request, ADMIN),
        "can_read_people": may(request, READ_PEOPLE),
        "problem": None,
        **(context or {}),
    }
    return render(request, f"admin/{template}", values, status_code=status_code)
