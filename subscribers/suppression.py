"""The suppression list: addresses never to send to, whatever their subscriptions say.

An address is kept only as an HMAC-SHA256 of its lower-cased form, so the list
can outlive the person's data (an erased person stays suppressed for imports)
while the address itself is gone. The HMAC is keyed with the secret keys: rows are
written with the first key, and looked up under every key given, so rotating
``SECRET_KEY`` (the old key moved to the fallbacks) keeps every row recognised.
A row found under an older key is rewritten with the current one when touched.

``subscriber_id`` is set while the person exists with that address: the send
ledger skips suppressed people by that id, in SQL.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from subscribers.addresses import address_key, without_addresses
from subscribers.bulk import among, dialect_of
from subscribers.models import Subscriber, Suppression, has_address

LOOKUP_CHUNK = 10_000  # digests per query in :func:`suppressed_among`


class SuppressionReason(enum.StrEnum):
    HARD_BOUNCE = "hard_bounce"  # the address does not exist or refuses our mail
    COMPLAINT = "complaint"  # the person marked a message as spam
    ERASED = "erased"  # the person asked to be forgotten (GDPR art. 17)
    MANUAL = "manual"  # the office said so


def email_hmac(key: str, email: str) -> str:
    """The hex HMAC-SHA256 of the lower-cased address under ``key`` (64 characters).

    The same keys sign tokens, but a token's MAC input always holds a NUL byte
    after its purpose and an address never does, so the two can never collide.
    """
    # hmac.digest: the one-shot C implementation, several times faster than hmac.new
    return hmac.digest(key.encode(), address_key(email).encode(), "sha256").hex()


def email_hmacs(keys: Sequence[str], email: str) -> list[str]:
    """The address's HMAC under every key, the current key's first.

    :raises ValueError: if no key is given (nothing could be looked up)
    """
    if not keys or not all(keys):
        raise ValueError("the suppression list needs at least one non-empty secret key")
    return [email_hmac(key, email) for key in keys]


def find_suppression(session: Session, keys: Sequence[str], email: str) -> Suppression | None:
    """The suppression row of this address, under any key."""
    digests = email_hmacs(keys, email)
    rows = session.scalars(select(Suppression).where(Suppression.email_hmac.in_(digests))).all()
    return min(rows, key=lambda row: digests.index(row.email_hmac), default=None)


def is_suppressed(session: Session, keys: Sequence[str], email: str) -> bool:
    """Whether the address is on the suppression list."""
    return find_suppression(session, keys, email) is not None


def suppress(
    session: Session, keys: Sequence[str], email: str, reason: SuppressionReason, detail: str = ""
) -> Suppression:
    """Put an address on the suppression list, or update its reason if it is there already.

    The row is linked to the subscriber who has this address now, if any; an erased
    person's row is never linked (the link would tie the anonymised history to the address).

    :param detail: why, for the office; any address in it (a bounce's diagnostic quotes the
        recipient) is cut out, since the row outlives the person's data
    :returns: the row, flushed
    """
    digests = email_hmacs(keys, email)
    rows = session.scalars(select(Suppression).where(Suppression.email_hmac.in_(digests))).all()
    row = rows[0] if rows else Suppression(email_hmac=digests[0])
    for extra in rows[1:]:  # the same address under two keys: keep one row
        session.delete(extra)
    session.flush()
    row.email_hmac, row.reason = digests[0], reason.value
    row.detail = without_addresses(detail)
    row.subscriber_id = None if reason is SuppressionReason.ERASED else _holder(session, email)
    session.add(row)
    session.flush()
    return row


def lift(session: Session, keys: Sequence[str], email: str) -> bool:
    """Take an address off the suppression list, whatever the reason.

    Call it only on new, explicit consent: when a person confirms a web sign-up
    (double opt-in proves the address works and that they want the mail again).

    :returns: whether the address was suppressed
    """
    digests = email_hmacs(keys, email)
    result = session.execute(delete(Suppression).where(Suppression.email_hmac.in_(digests)))
    return bool(getattr(result, "rowcount", 0))


def suppressed_among(
    session: Session, keys: Sequence[str], emails: Iterable[str]
) -> dict[str, str]:
    """Which of many addresses are suppressed, in a few queries.

    :returns: ``{address_key(email): reason}`` for the suppressed ones
    """
    return suppressed_by_digest(session, digests_of(keys, emails))


def digests_of(keys: Sequence[str], emails: Iterable[str]) -> dict[str, str]:
    """The address key of each digest of ``emails`` under every key (pure, no query).

    :raises ValueError: if no key is given
    """
    by_digest: dict[str, str] = {}
    for email in emails:
        lowered = address_key(email)
        by_digest.update(dict.fromkeys(email_hmacs(keys, lowered), lowered))
    return by_digest


def suppressed_by_digest(session: Session, by_digest: dict[str, str]) -> dict[str, str]:
    """Which of the addresses behind ``by_digest`` (from :func:`digests_of`) are suppressed.

    :returns: ``{address key: reason}`` for the suppressed ones
    """
    dialect = dialect_of(session)
    digests = list(by_digest)
    found: dict[str, str] = {}
    for start in range(0, len(digests), LOOKUP_CHUNK):
        chunk = among(Suppression.email_hmac, digests[start : start + LOOKUP_CHUNK], dialect)
        query = select(Suppression.email_hmac, Suppression.reason).where(chunk)
        for digest, reason in session.execute(query):
            found[by_digest[digest]] = reason
    return found


def counts_by_reason(session: Session) -> dict[str, int]:
    """How many addresses are suppressed for each reason."""
    query = select(Suppression.reason, func.count()).group_by(Suppression.reason)
    return {reason: count for reason, count in session.execute(query)}


def count_linked(session: Session) -> int:
    """How many suppressions name a subscriber still on file."""
    query = select(func.count()).where(Suppression.subscriber_id.is_not(None))
    return session.scalar(query) or 0


def _holder(session: Session, email: str) -> int | None:
    """The id of the (not erased) subscriber with this address, if any."""
    return session.scalar(
        select(Subscriber.id).where(has_address(email), Subscriber.erased_at.is_(None))
    )
