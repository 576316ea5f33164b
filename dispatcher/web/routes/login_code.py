"""The login's second step for users with TOTP: ``/login/code`` after the password.

The password alone logs nobody in when the user has enrolled: the (signed) session
cookie remembers whose password was right for :data:`CODE_SECONDS`, and the login
starts only when a code checks out. Wrong codes count against the same per-IP limit
as passwords, and after :data:`MAX_TRIES` of them the password must be typed again.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from dispatcher.models import User
from dispatcher.office import accounts, totp
from dispatcher.office.users import audit, get_user
from dispatcher.web.auth import csrf_protect, csrf_token, log_in
from dispatcher.web.routes.public_common import client_ip, ip_bucket, limiter, too_many
from dispatcher.web.state import DbSession, State
from dispatcher.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

PENDING = "totp_pending"
CODE_SECONDS = 300
MAX_TRIES = 5
__all__ = ["finish_login", "router"]


def finish_login(request: Request, session: Session, user: User, target: str) -> Response:
    """Log ``user`` in, or ask for their code first when they have enrolled TOTP."""
    if totp.is_enrolled(user):
        pending = {"user": user.id, "at": int(time.time()), "next": target, "tries": 0}
        request.session[PENDING] = pending
        return RedirectResponse("/login/code", status_code=303)
    return _logged_in(request, session, user, target)


@router.get("/login/code")
def code_form(request: Request, session: DbSession) -> Response:
    if _pending_user(request, session) is None:
        return RedirectResponse("/login", status_code=303)
    csrf_token(request)
    return render(request, "login_code.html", {"failed": False})


@router.post("/login/code")
def check_code(
    request: Request,
    session: DbSession,
    state: State,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    rate = state.settings.web.login_rate
    if not limiter(state, "login", rate).hit(ip_bucket(client_ip(request))):
        return too_many(request, rate)
    user = _pending_user(request, session)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    pending: dict[str, Any] = request.session[PENDING]
    if totp.check_code(session, user, code):
        return _logged_in(request, session, user, str(pending.get("next", "/admin")))
    audit(session, user.username, "login.code_failed", "user", user.id)
    tries = int(pending.get("tries", 0)) + 1
    if tries >= MAX_TRIES:
        request.session.pop(PENDING, None)
        return RedirectResponse("/login", status_code=303)
    request.session[PENDING] = {**pending, "tries": tries}
    return render(request, "login_code.html", {"failed": True}, status_code=401)


def _pending_user(request: Request, session: Session) -> User | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    if time.time() - float(pending.get("at", 0)) > CODE_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return get_user(session, pending["user"])


def _logged_in(request: Request, session: Session, user: User, target: str) -> Response:
    log_in(request, session, user)  # clears the cookie's session: the pending step too
    accounts.record_login(user)
    audit(session, user.username, "login")
    return RedirectResponse(target, status_code=303)
