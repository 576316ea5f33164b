"""``/admin/account``: every user's own password and, for approvers and admins, TOTP.

Changing the password needs the current one and ends every other login of the user
(this browser gets a fresh one). Enrolling TOTP shows the secret as a QR code (inline
SVG, made here by segno) and as text for typing, and enables it once a code from the
app confirms the user copied it right. While a step is owed (a one-time password to
replace, TOTP that the settings require), these are the only pages the user reaches
(:func:`dispatcher.web.auth.owed_step`).
"""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from dispatcher.models import User
from dispatcher.office import accounts, totp
from dispatcher.office.accounts import AccountRefusedError
from dispatcher.office.users import MIN_PASSWORD_LENGTH, get_user
from dispatcher.web.auth import Forbidden, LoginRequired, log_in
from dispatcher.web.routes.admin.common import acting_user, flash, page, see_other, viewer
from dispatcher.web.state import DbSession, State, WebState

Secret = Annotated[str, Form(max_length=200)]


@viewer.get("/account")
def account_page(request: Request, session: DbSession, state: State) -> Response:
    return _account_page(request, session, state)


@viewer.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    state: State,
    current: Secret = "",
    new: Secret = "",
    repeat: Secret = "",
) -> Response:
    user = _me(request, session)
    if new != repeat:
        return _account_page(request, session, state, "account.refused.repeat")
    try:
        with session.begin_nested():
            accounts.change_own_password(session, user, current, new)
    except AccountRefusedError as refused:
        return _account_page(request, session, state, f"account.refused.{refused.reason}")
    log_in(request, session, user)  # every login ended: this browser gets a new one
    flash(request, "flash.password_changed")
    return see_other("/admin/account")


@viewer.get("/account/totp")
def totp_page(request: Request, session: DbSession) -> Response:
    user = _me(request, session)
    if not totp.may_enrol(user):
        raise Forbidden()
    if totp.is_enrolled(user):
        flash(request, "flash.totp_already")
        return see_other("/admin/account")
    return _totp_page(request, user, totp.pending_secret(user))


@viewer.post("/account/totp")
def confirm_totp(
    request: Request, session: DbSession, code: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    user = _me(request, session)
    if not totp.may_enrol(user):
        raise Forbidden()
    if totp.is_enrolled(user):
        return see_other("/admin/account")
    if not accounts.confirm_second_factor(session, user, code):
        secret = totp.pending_secret(user)
        return _totp_page(request, user, secret, failed=True)
    flash(request, "flash.totp_enabled")
    return see_other("/admin")


def _me(request: Request, session: Session) -> User:
    """The logged-in user, in this request's transaction (to change them)."""
    user = get_user(session, acting_user(request).id)
    if user is None:  # removed since the router's dependency found them
        raise LoginRequired()
    return user


def _account_page(
    request: Request, session: Session, state: WebState, refused: str | None = None
) -> Response:
    user = _me(request, session)
    context: dict[str, Any] = {
        "me": user,
        "min_length": MIN_PASSWORD_LENGTH,
        "may_enrol": totp.may_enrol(user),
        "enrolled": totp.is_enrolled(user),
        "totp_required": user.role in state.settings.web.totp_required_roles,
        "problem": {"key": refused, "detail": ""} if refused else None,
    }
    return page(request, "account.html", context, status_code=400 if refused else 200)


def _totp_page(request: Request, user: User, secret: str, failed: bool = False) -> Response:
    uri = totp.provisioning_uri(user, secret)
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, omitsize=True)
    context = {
        "qr": Markup(svg),  # nosec B704 - segno's SVG of our own URI: paths, no text
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "problem": {"key": "totp.wrong_code", "detail": ""} if failed else None,
    }
    response = page(request, "account_totp.html", context, status_code=400 if failed else 200)
    response.headers["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response
