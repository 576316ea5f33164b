"""The TOTP second factor (RFC 6238, pyotp): enrolment, checking a code, reset.

A user enrols by scanning the secret (as a QR code or typed) into an authenticator
app and confirming with one code; from then on the login asks for a code after the
password. A code is accepted from the step before to the step after the current one
(30 s each, for clocks that drift) and only once: the step of the last accepted code
is kept, and a code of that step or an earlier one is refused, so a code seen over
someone's shoulder is worth nothing once used.

The secret is kept as the base32 text the authenticator needs (``users.totp_secret``);
anyone who can read the users table could compute codes, as with any TOTP server.

Services take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp
from sqlalchemy.orm import Session

from dispatcher.models import Role, User
from subscribers.orm import utcnow

#: Steps either side of the current one that still count (±1: 30 s of clock drift).
WINDOW = 1
#: Roles that may enrol: those whose mistakes reach every subscriber.
TOTP_ROLES = frozenset({Role.APPROVER.value, Role.ADMIN.value})
ISSUER = "Newsletter Città metropolitana di Torino"


def may_enrol(user: User) -> bool:
    return user.role in TOTP_ROLES


def is_enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def must_enrol(user: User, required_for: frozenset[str]) -> bool:
    """Whether the settings require a second factor this user has not set up yet."""
    return user.role in required_for and not is_enrolled(user)


def pending_secret(user: User) -> str:
    """The secret being enrolled: kept across reloads, so a QR code already scanned works.

    Call it only for a user who is not enrolled yet.
    """
    if is_enrolled(user):
        raise ValueError("the user is already enrolled")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def confirm_enrolment(session: Session, user: User, code: str) -> bool:
    """Enable the second factor if ``code`` matches the pending secret."""
    if is_enrolled(user) or not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, None, utcnow())
    if step is None:
        return False
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    session.flush()
    return True


def check_code(session: Session, user: User, code: str, now: dt.datetime | None = None) -> bool:
    """Whether ``code`` is a valid, unused code of an enrolled user (it is used up if so)."""
    if not is_enrolled(user) or user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, user.totp_last_step, now or utcnow())
    if step is None:
        return False
    user.totp_last_step = step
    session.flush()
    return True


def reset(session: Session, user: User) -> bool:
    """Remove the second factor (a lost phone): the user enrols again.

    :returns: whether there was one
    """
    had = user.totp_secret is not None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()
    return had


def _matching_step(secret: str, code: str, last_step: int | None, now: dt.datetime) -> int | None:
    """The time step whose code is ``code`` within the window and after ``last_step``."""
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None
