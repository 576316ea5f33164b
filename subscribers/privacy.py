"""The person's side of data protection: what we hold about someone, and forgetting them.

The ledger's side (deliveries, bounce events) is in ``dispatcher.office.privacy``, which
builds on these; this package knows nothing of sends.

Erasure anonymises rather than deletes: the subscriber row stays, with a
placeholder address and no name or attributes, so the delivery ledger's rows and
counts stay whole. What remains of the address is an HMAC on the suppression
list (reason ``erased``), so that an import cannot bring the person back, while
their own new consent through the web form can (:func:`subscribers.consent.confirm`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from subscribers import consent_history
from subscribers.errors import UnknownSubscriberError
from subscribers.models import (
    MailingList,
    SignupRequest,
    Subscriber,
    Subscription,
    Suppression,
    has_address,
)
from subscribers.orm import SubscriptionStatus, utcnow
from subscribers.suppression import SuppressionReason, find_suppression, suppress

ERASED_DOMAIN = "invalid"  # RFC 2606: never an address anyone has


def placeholder(subscriber_id: int) -> str:
    """The address an erased subscriber row keeps: unique, and not an address at all."""
    return f"erased-{subscriber_id}@{ERASED_DOMAIN}"


def iso(value: dt.datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (SQLite gives it back without its zone)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat()


def find_person(session: Session, email: str) -> Subscriber:
    """The subscriber with this address, whatever its case.

    :raises UnknownSubscriberError: if nobody has it (erased people have it no more)
    """
    found = session.scalar(select(Subscriber).where(has_address(email)))
    if found is None:
        raise UnknownSubscriberError("nobody with this address is on any list")
    return found


def person_record(session: Session, keys: Sequence[str], subscriber: Subscriber) -> dict[str, Any]:
    """Everything this package holds about a person, as JSON-ready values (GDPR art. 15)."""
    suppression = find_suppression(session, keys, subscriber.email)
    return {
        "subscriber": {
            "id": subscriber.id,
            "email": subscriber.email,
            "name": subscriber.name,
            "language": subscriber.language,
            "attributes": subscriber.attributes,
            "created_at": iso(subscriber.created_at),
            "erased_at": iso(subscriber.erased_at),
        },
        "subscriptions": _subscriptions(session, subscriber.id),
        "signup_requests": _signup_requests(session, subscriber.id),
        "consent_history": consent_history.history_of(session, subscriber.id),
        "suppression": None
        if suppression is None
        else {
            "reason": suppression.reason,
            "detail": suppression.detail,
            "since": iso(suppression.created_at),
        },
    }


def _subscriptions(session: Session, subscriber_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Subscription, MailingList.slug, MailingList.name)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(Subscription.id)
    )
    return [
        {
            "list": slug,
            "list_name": name,
            "status": s.status,
            "consent": {
                "source": s.source,
                "ip": s.consent_ip,
                "privacy_version": s.privacy_version,
                "consented_at": iso(s.consented_at),
                "confirmed_at": iso(s.confirmed_at),
            },
            "unsubscribed_at": iso(s.unsubscribed_at),
            "soft_bounces": s.soft_bounces,
            "updated_at": iso(s.updated_at),
        }
        for s, slug, name in rows
    ]


def _signup_requests(session: Session, subscriber_id: int) -> list[dict[str, Any]]:
    """Sign-ups made with the person's address, confirmed or not (what the form carried)."""
    requests = session.scalars(
        select(SignupRequest)
        .where(SignupRequest.subscriber_id == subscriber_id)
        .order_by(SignupRequest.id)
    )
    return [
        {
            "list": r.mailing_list.slug,
            "name": r.name,
            "language": r.language,
            "sections": r.sections or [],
            "ip": r.consent_ip,
            "privacy_version": r.privacy_version,
            "at": iso(r.created_at),
            "confirmed_at": iso(r.confirmed_at),
        }
        for r in requests
    ]


def erase_subscriber(session: Session, keys: Sequence[str], subscriber: Subscriber) -> int:
    """Anonymise a person's own rows and keep their address's HMAC as ``erased``.

    Every subscription becomes ``unsubscribed`` (the time kept if they had left
    already) and loses its consent IP. The caller scrubs the ledger first: it
    needs the address to find it in the texts.

    :returns: how many subscriptions the person had
    """
    email, now = subscriber.email, utcnow()
    closed = session.execute(
        update(Subscription)
        .where(Subscription.subscriber_id == subscriber.id)
        .values(
            status=SubscriptionStatus.UNSUBSCRIBED.value,
            unsubscribed_at=func.coalesce(Subscription.unsubscribed_at, now),
            consent_ip=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Suppression)
        .where(Suppression.subscriber_id == subscriber.id)
        .values(subscriber_id=None)
        .execution_options(synchronize_session=False)
    )
    # Sign-up requests hold a name and an IP address typed for this address.
    session.execute(delete(SignupRequest).where(SignupRequest.subscriber_id == subscriber.id))
    # The consent history holds IPs and times of this person: it goes (counts stay elsewhere).
    consent_history.forget(session, subscriber.id)
    subscriber.email, subscriber.name = placeholder(subscriber.id), ""
    subscriber.attributes, subscriber.erased_at = {}, now
    session.flush()
    suppress(session, keys, email, SuppressionReason.ERASED, f"erased on {now.date()}")
    session.expire_all()  # the subscriptions changed behind the identity map
    return int(getattr(closed, "rowcount", 0))
