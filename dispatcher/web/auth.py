"""Logging in to the admin and console: sessions, roles and CSRF protection.

Admin routers are built with :func:`admin_router`, whose dependencies require a
logged-in user with a role and check the CSRF token of every unsafe request, so
a new route cannot forget either. The cookie is signed (Starlette's
SessionMiddleware) and carries the CSRF token and the key of a login kept in the
database (:mod:`dispatcher.office.sessions`), so that logging out, a new password
or a disabled account ends it for every copy of the cookie. Passwords are argon2id
hashes (:mod:`dispatcher.office.users`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from dispatcher.errors import AccessError
from dispatcher.models import User
from dispatcher.office.sessions import SESSION_SECONDS, end_session, session_user, start_session
from dispatcher.office.totp import must_enrol
from dispatcher.office.users import has_role
from dispatcher.web.state import web_state

SESSION_KEY = "login"  # the cookie's entry holding the login's key
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(AccessError):
    """Nobody is logged in: pages redirect to the login form, the API answers 401.

    :mod:`dispatcher.web.errors` translates these three, with the rest of the tree.
    """


class Forbidden(AccessError):
    """Logged in, but without the role this needs (403)."""


class CsrfFailed(AccessError):
    """An unsafe request without the session's CSRF token (403)."""


class StepRequired(AccessError):
    """Logged in, but a step is owed first: a new password, or enrolling TOTP.

    Pages redirect to :attr:`location`; the API answers 403.
    """

    def __init__(self, location: str) -> None:
        super().__init__(f"finish {location} first")
        self.location = location


#: What a user who owes a step may still open (the step's own pages).
STEP_PAGES = frozenset({"/admin/account", "/admin/account/password", "/admin/account/totp"})


def install_sessions(app: FastAPI, secret_key: str, https_only: bool) -> None:
    """Signed session cookies: HttpOnly, SameSite=Lax, Secure when served over https."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie="dispatcher_session",
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=https_only,
    )


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; put it in every form."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    request.state.csrf_token = token
    return token


async def csrf_protect(request: Request) -> None:
    """Dependency: unsafe requests must carry the session's token (form field or header)."""
    expected = csrf_token(request)
    if request.method not in UNSAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise CsrfFailed()


def current_user(request: Request) -> User | None:
    """The logged-in user, or None (also when the login was ended or the user disabled)."""
    key = request.session.get(SESSION_KEY)
    if not isinstance(key, str):
        return None
    with web_state(request).sessions() as session:
        user = session_user(session, key)
    request.state.user = user
    return user


def require_role(*roles: str) -> Callable[[Request], Awaitable[User]]:
    """Dependency: a logged-in user with one of ``roles`` (admins always pass)."""

    async def dependency(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise LoginRequired()
        owed = owed_step(request, user)
        if owed and request.url.path not in STEP_PAGES:
            raise StepRequired(owed)
        if roles and not has_role(user, *roles):
            raise Forbidden()
        return user

    return dependency


def owed_step(request: Request, user: User) -> str | None:
    """The page a user must go through before anything else, if any."""
    if user.must_change_password:
        return "/admin/account"
    if must_enrol(user, web_state(request).settings.web.totp_required_roles):
        return "/admin/account/totp"
    return None


def admin_router(prefix: str, roles: Sequence[str] = ()) -> APIRouter:
    """A router whose every route needs login (with ``roles``) and CSRF on unsafe methods."""
    return APIRouter(
        prefix=prefix,
        dependencies=[Depends(require_role(*roles)), Depends(csrf_protect)],
        include_in_schema=prefix.startswith("/api"),
    )


def log_in(request: Request, session: Session, user: User) -> None:
    """Start a fresh login for ``user`` (a new CSRF token too: no fixation)."""
    request.session.clear()
    request.session[SESSION_KEY] = start_session(session, user)
    csrf_token(request)


def log_out(request: Request, session: Session) -> None:
    """End this login, for every copy of the cookie, not only the browser's."""
    key = request.session.get(SESSION_KEY)
    if isinstance(key, str):
        end_session(session, key)
    request.session.clear()
