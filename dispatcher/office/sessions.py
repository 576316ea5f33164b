"""Logins to the admin and the console, kept server-side so that they can be ended.

A signed cookie alone cannot be taken back: logging out only cleared the browser's
copy, and a copied cookie (from a shared computer, a proxy log, malware) kept
working until it expired, through a password change or the account being disabled.
Here the cookie carries a random key and the ``web_sessions`` table its SHA-256: a
request is logged in only while the row exists, its user is enabled and its time
(:data:`SESSION_SECONDS`, counted from the login, never extended) is not over.
Logging out deletes that row; a new password or disabling the account deletes all
of the user's rows.

Services: a session in, nothing committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dispatcher.models import User, WebSession
from subscribers.orm import utcnow

SESSION_SECONDS = 12 * 3600


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(session: Session, user: User) -> str:
    """Open a login for ``user``, and forget the user's logins that have expired.

    :returns: the key to put in the browser's cookie (not stored anywhere else)
    """
    now = utcnow()
    session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now)
    )
    key = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(seconds=SESSION_SECONDS)
    session.add(WebSession(key_hash=_hash(key), user_id=user.id, expires_at=expires))
    session.flush()
    return key


def session_user(session: Session, key: str) -> User | None:
    """The enabled user logged in with ``key``, or None if that login ended or expired."""
    return session.scalar(
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.key_hash == _hash(key),
            WebSession.expires_at > utcnow(),
            User.disabled_at.is_(None),
        )
    )


def end_session(session: Session, key: str) -> None:
    """End the login with ``key`` (every copy of its cookie); ending it twice is harmless."""
    session.execute(delete(WebSession).where(WebSession.key_hash == _hash(key)))


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every login of the user (a new password, a disabled account).

    :returns: how many were ended
    """
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
