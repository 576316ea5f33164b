"""The admin's side of users: list, create, change role, disable, reset, end logins.

A password an admin hands out is a one-time password made here, shown once, and
the user must choose their own at the next login (``must_change_password``): the
admin never knows a password in use, so the audit log's names stay true. The last
enabled admin cannot be disabled or given another role, so the office can always
manage its users from the browser. Every change is written to the audit log with
the name of whoever made it.

Services take a session and never commit.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import Role, User, WebSession
from dispatcher.office import totp
from dispatcher.office.sessions import end_user_sessions
from dispatcher.office.users import (
    MIN_PASSWORD_LENGTH,
    audit,
    authenticate,
    create_user,
    find_user,
    set_disabled,
    set_password,
)
from subscribers.orm import utcnow

# Letters and digits nobody confuses when reading them aloud (no 0/o, 1/l/i).
_ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


class AccountRefusedError(StateError):
    """A change to a user refused; ``reason`` names why, for pages to explain in words.

    Reasons: ``bad_name``, ``name_taken``, ``bad_role``, ``last_admin``,
    ``wrong_current``, ``too_short``, ``not_new``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.coded(f"account.refused.{reason}")


@dataclass(frozen=True)
class Account:
    """A user with what the users page shows about them."""

    user: User
    open_sessions: int


def one_time_password() -> str:
    """Twenty random characters (about 98 bits) in groups of four, easy to dictate."""
    chars = "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(20))
    return "-".join(chars[i : i + 4] for i in range(0, 20, 4))


def list_accounts(session: Session) -> list[Account]:
    """Every user, enabled ones first, by name, with their open logins."""
    open_logins = (
        select(WebSession.user_id, func.count().label("n"))
        .where(WebSession.expires_at > utcnow())
        .group_by(WebSession.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(open_logins.c.n, 0))
        .outerjoin(open_logins, open_logins.c.user_id == User.id)
        .order_by(User.disabled_at.is_not(None), User.username)
    )
    return [Account(user, int(count)) for user, count in rows]


def get_account(session: Session, user_id: int) -> User:
    """:raises NotFoundError: if there is no such user (enabled or not)"""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def open_sessions(session: Session, user_id: int) -> int:
    query = select(func.count()).where(
        WebSession.user_id == user_id, WebSession.expires_at > utcnow()
    )
    return int(session.scalar(query) or 0)


def create_account(session: Session, username: str, role: str, actor: str) -> tuple[User, str]:
    """Create a user with a one-time password, to be changed at the first login.

    :returns: the user and the one-time password (shown once, kept nowhere)
    :raises AccountRefusedError: if the name is not allowed or taken, or the role unknown
    """
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise AccountRefusedError("bad_name", f"user name {username!r} is not allowed")
    if find_user(session, name) is not None:
        raise AccountRefusedError("name_taken", f"user {name!r} already exists")
    _check_role(role)
    password = one_time_password()
    user = create_user(session, name, password, role)
    user.must_change_password = True
    audit(session, actor, "user.create", "user", user.id, account=name, role=role)
    return user, password


def change_role(session: Session, user_id: int, role: str, actor: str) -> User:
    """:raises AccountRefusedError: for the last enabled admin, or an unknown role"""
    user = get_account(session, user_id)
    _check_role(role)
    if role == user.role:
        return user
    if user.role == Role.ADMIN.value:
        _keep_an_admin(session, user)
    detail = {"account": user.username, "old": user.role, "new": role}
    audit(session, actor, "user.role", "user", user.id, **detail)
    user.role = role
    session.flush()
    return user


def set_account_disabled(session: Session, user_id: int, disabled: bool, actor: str) -> User:
    """Disable (every open login ends at once) or enable a user.

    :raises AccountRefusedError: if this is the last enabled admin
    """
    user = get_account(session, user_id)
    if disabled and user.role == Role.ADMIN.value and user.disabled_at is None:
        _keep_an_admin(session, user)
    set_disabled(session, user.username, disabled)
    action = "user.disable" if disabled else "user.enable"
    audit(session, actor, action, "user", user.id, account=user.username)
    return user


def reset_password(session: Session, user_id: int, actor: str) -> tuple[User, str]:
    """Give a user a one-time password; their open logins end.

    :returns: the user and the password (shown once to the admin, kept nowhere)
    """
    user = get_account(session, user_id)
    password = one_time_password()
    set_password(session, user.username, password)
    user.must_change_password = True
    audit(session, actor, "user.password_reset", "user", user.id, account=user.username)
    return user, password


def end_sessions(session: Session, user_id: int, actor: str) -> int:
    """End every open login of the user. :returns: how many"""
    user = get_account(session, user_id)
    ended = end_user_sessions(session, user.id)
    detail = {"account": user.username, "ended": ended}
    audit(session, actor, "user.sessions_end", "user", user.id, **detail)
    return ended


def reset_second_factor(session: Session, user_id: int, actor: str) -> bool:
    """Remove a user's TOTP (a lost phone). :returns: whether they had one"""
    user = get_account(session, user_id)
    had = totp.reset(session, user)
    audit(session, actor, "user.totp_reset", "user", user.id, account=user.username, had=had)
    return had


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """The user's own new password; every login of theirs ends (the caller starts a new one).

    :raises AccountRefusedError: if ``current`` is wrong or ``new`` breaks the policy
    """
    if authenticate(session, user.username, current) is None:
        raise AccountRefusedError("wrong_current", "the current password is not right")
    if len(new) < MIN_PASSWORD_LENGTH:
        message = f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        raise AccountRefusedError("too_short", message)
    if new == current or new.strip().lower() == user.username.lower():
        message = "the new password must differ from the old one and from the name"
        raise AccountRefusedError("not_new", message)
    set_password(session, user.username, new)
    user.must_change_password = False
    audit(session, user.username, "user.password", "user", user.id, account=user.username)


def confirm_second_factor(session: Session, user: User, code: str) -> bool:
    """Enable the user's TOTP if ``code`` matches the secret they were shown."""
    if not totp.confirm_enrolment(session, user, code):
        return False
    audit(session, user.username, "user.totp_enrol", "user", user.id, account=user.username)
    return True


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.scalar(
        select(func.count()).where(
            User.role == Role.ADMIN.value, User.disabled_at.is_(None), User.id != user.id
        )
    )
    if not others:
        raise AccountRefusedError("last_admin", "at least one enabled admin must remain")


def _check_role(role: str) -> None:
    if role not in {r.value for r in Role}:
        raise AccountRefusedError("bad_role", f"unknown role {role!r}")
