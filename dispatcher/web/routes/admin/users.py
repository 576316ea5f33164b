"""``/admin/users`` (admins only): who may log in, with what role, and their logins.

An admin creates a user by name and role and reads a one-time password to hand
over; the user chooses their own at the first login. The same happens on a reset.
The one-time password is in the page answering the form (never in a redirect's
flash, which travels in the cookie) and the page is not cached. Disabling a user, or
ending their logins, ends every open session at once; resetting TOTP lets someone
who lost their phone enrol again. Every change is in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.models import Role, User
from dispatcher.office import accounts, totp
from dispatcher.office.accounts import AccountRefusedError
from dispatcher.web.routes.admin.common import actor, administrator, flash, page, see_other
from dispatcher.web.state import DbSession, RowId

RoleField = Annotated[str, Form(max_length=16)]
ROLES = tuple(r.value for r in Role)


@administrator.get("/users")
def users_page(request: Request, session: DbSession) -> Response:
    return _users_page(request, session)


@administrator.post("/users")
def create(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=200)] = "",
    role: RoleField = "",
) -> Response:
    try:
        with session.begin_nested():
            user, password = accounts.create_account(session, username, role, actor(request))
    except AccountRefusedError as refused:
        return _users_page(request, session, refused, username)
    return _one_time(request, user, password, "users.created_done")


@administrator.get("/users/{user_id}")
def user_page(request: Request, session: DbSession, user_id: RowId) -> Response:
    return _user_page(request, session, user_id)


@administrator.post("/users/{user_id}/role")
def change_role(request: Request, session: DbSession, user_id: RowId, role: RoleField) -> Response:
    def action() -> None:
        accounts.change_role(session, user_id, role, actor(request))
        flash(request, "flash.user_role", role=role)

    return _act(request, session, user_id, action)


@administrator.post("/users/{user_id}/disable")
def disable(request: Request, session: DbSession, user_id: RowId) -> Response:
    def action() -> None:
        accounts.set_account_disabled(session, user_id, True, actor(request))
        flash(request, "flash.user_disabled")

    return _act(request, session, user_id, action)


@administrator.post("/users/{user_id}/enable")
def enable(request: Request, session: DbSession, user_id: RowId) -> Response:
    def action() -> None:
        accounts.set_account_disabled(session, user_id, False, actor(request))
        flash(request, "flash.user_enabled")

    return _act(request, session, user_id, action)


@administrator.post("/users/{user_id}/password")
def reset_password(request: Request, session: DbSession, user_id: RowId) -> Response:
    user, password = accounts.reset_password(session, user_id, actor(request))
    return _one_time(request, user, password, "users.reset_done")


@administrator.post("/users/{user_id}/sessions/end")
def end_sessions(request: Request, session: DbSession, user_id: RowId) -> Response:
    def action() -> None:
        ended = accounts.end_sessions(session, user_id, actor(request))
        flash(request, "flash.user_sessions_ended", count=ended)

    return _act(request, session, user_id, action)


@administrator.post("/users/{user_id}/totp/reset")
def reset_totp(request: Request, session: DbSession, user_id: RowId) -> Response:
    def action() -> None:
        had = accounts.reset_second_factor(session, user_id, actor(request))
        flash(request, "flash.user_totp_reset" if had else "flash.user_totp_none")

    return _act(request, session, user_id, action)


def _act(request: Request, session: Session, user_id: int, action: Callable[[], None]) -> Response:
    """Run a change; if it is refused, the user's page again with the reason in words."""
    try:
        with session.begin_nested():
            action()
    except AccountRefusedError as refused:
        return _user_page(request, session, user_id, refused)
    return see_other(f"/admin/users/{user_id}")


def _users_page(
    request: Request,
    session: Session,
    refused: AccountRefusedError | None = None,
    typed: str = "",
) -> Response:
    context = {
        "accounts": accounts.list_accounts(session),
        "roles": ROLES,
        "typed": typed,
        "problem": _problem(refused),
    }
    return page(request, "users.html", context, status_code=400 if refused else 200)


def _user_page(
    request: Request, session: Session, user_id: int, refused: AccountRefusedError | None = None
) -> Response:
    user = accounts.get_account(session, user_id)
    context = {
        "account": user,
        "sessions": accounts.open_sessions(session, user.id),
        "enrolled": totp.is_enrolled(user),
        "roles": ROLES,
        "problem": _problem(refused),
    }
    return page(request, "user.html", context, status_code=400 if refused else 200)


def _one_time(request: Request, user: User, password: str, key: str) -> Response:
    context = {"account": user, "password": password, "done_key": key}
    response = page(request, "user_password.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


def _problem(refused: AccountRefusedError | None) -> dict[str, str] | None:
    return {"key": f"account.refused.{refused.reason}", "detail": ""} if refused else None
