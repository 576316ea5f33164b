"""``/login`` and ``/logout`` for the office's admin and the operators' console."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from dispatcher.office.users import audit, authenticate
from dispatcher.web.auth import csrf_protect, csrf_token, install_sessions, log_out
from dispatcher.web.routes import login_code
from dispatcher.web.routes.login_code import finish_login
from dispatcher.web.routes.public_common import client_ip, ip_bucket, limiter, too_many
from dispatcher.web.state import DbSession, State
from dispatcher.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str = "/admin") -> Response:
    csrf_token(request)
    return render(request, "login.html", {"next": _safe_next(next), "failed": False})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    state: State,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    # Every attempt counts, not only failures: the limit (LOGIN_RATE) is checked before
    # the password, so a guess that happens to be right is refused too once it is
    # reached. A person mistyping stays far below it; a script guessing passwords gets
    # two a minute.
    rate = state.settings.web.login_rate
    if not limiter(state, "login", rate).hit(ip_bucket(client_ip(request))):
        return too_many(request, rate)
    user = authenticate(session, username.strip(), password)
    if user is None:
        audit(session, username.strip()[:64], "login.failed")
        context = {"next": _safe_next(next), "failed": True}
        return render(request, "login.html", context, status_code=401)
    return finish_login(request, session, user, _safe_next(next))


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    log_out(request, session)
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str) -> str:
    """Only paths on this site: an open redirect would help phishing."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/admin"
    return target


def install(app: FastAPI) -> None:
    settings = app.state.web.settings
    install_sessions(app, settings.secret_key, settings.public_url.startswith("https"))
    app.include_router(router)
    app.include_router(login_code.router)
