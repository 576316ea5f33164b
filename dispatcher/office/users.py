"""Users, passwords and the audit log (services: a session in, nothing committed)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import AuditEntry, Role, User
from dispatcher.office.sessions import end_user_sessions
from subscribers.orm import utcnow

_hasher = PasswordHasher()  # argon2id with the library's current parameters
MIN_PASSWORD_LENGTH = 12


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both cases take the same time.

    Made on first use, not at import: hashing takes tens of milliseconds, and every
    command that writes the audit log imports this module.
    """
    return _hasher.hash("not a real password, only for timing")


def create_user(session: Session, username: str, password: str, role: str) -> User:
    """:raises StateError: if the name is taken, the role unknown or the password too short"""
    if role not in {r.value for r in Role}:
        roles = ", ".join(r.value for r in Role)
        raise StateError(f"unknown role {role!r}: use one of {roles}").coded(
            "user.unknown_role", role=role, roles=roles
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StateError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters").coded(
            "user.password_short", min=MIN_PASSWORD_LENGTH
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise StateError(f"user {username!r} already exists").coded("user.exists", name=username)
    user = User(username=username, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same answer for either mistake)."""
    user = find_user(session, username)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user with this name, or None."""
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.disabled_at is None else None


def set_password(session: Session, username: str, password: str) -> None:
    """Set a new password and end every login of the user (one may be someone else's).

    :raises NotFoundError: if there is no such user; StateError if the password is short
    """
    user = _existing(session, username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StateError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters").coded(
            "user.password_short", min=MIN_PASSWORD_LENGTH
        )
    user.password_hash = _hasher.hash(password)
    end_user_sessions(session, user.id)


def set_disabled(session: Session, username: str, disabled: bool) -> User:
    """Disable the user (no login, and every open one ends at once) or enable them again.

    Disabling keeps the user, so the audit log's entries still name someone.

    :raises NotFoundError: if there is no such user
    """
    user = _existing(session, username)
    if disabled:
        user.disabled_at = user.disabled_at or utcnow()
        end_user_sessions(session, user.id)
    else:
        user.disabled_at = None
    session.flush()
    return user


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def has_role(user: User, *roles: str) -> bool:
    """Admins may do everything; others only what their role allows."""
    return user.role == Role.ADMIN.value or user.role in roles


def audit(
    session: Session,
    username: str,
    action: str,
    target_type: str = "",
    target_id: int | None = None,
    **detail: Any,
) -> AuditEntry:
    """Record who did what; call it in the same transaction as the change itself."""
    entry = AuditEntry(
        username=username,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries to show; an empty field matches every entry."""

    target_type: str = ""
    target_id: int | None = None
    username: str = ""


def audit_entries(
    session: Session, limit: int, which: AuditFilter, before: int | None = None
) -> list[AuditEntry]:
    """The last ``limit`` audit entries that match ``which``, newest first.

    :param before: only entries older than this one (the next page's start)
    """
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if which.target_type:
        query = query.where(AuditEntry.target_type == which.target_type)
    if which.target_id is not None:
        query = query.where(AuditEntry.target_id == which.target_id)
    if which.username:
        query = query.where(AuditEntry.username == which.username)
    return list(session.scalars(query))
