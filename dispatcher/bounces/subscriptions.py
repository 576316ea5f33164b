"""The subscription and suppression changes that bounces and complaints cause.

These are stand-ins for the ``subscribers`` package's services for suppression
and unsubscribing, written in parallel: each is a small function with the
signature such a service would have, so they can be replaced one by one. Like
every service they take a session and never commit.

The suppression list keys addresses by an HMAC-SHA256 of the lower-cased
address, keyed with the first (current) secret key, in hexadecimal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.orm import SubscriptionStatus

#: Subscriptions that still receive mail (or will, once confirmed).
ACTIVE = (SubscriptionStatus.CONFIRMED.value, SubscriptionStatus.PENDING.value)


def email_hmac(address: str, key: str) -> str:
    """The suppression list's key for an address."""
    return hmac.new(key.encode(), address.strip().lower().encode(), hashlib.sha256).hexdigest()


def unsubscribe(session: Session, subscriber_id: int, list_id: int, now: dt.datetime) -> bool:
    """Take a person off one list (a bounced subscription too: leaving is a clearer record).

    :returns: whether the subscription changed (False if already unsubscribed or absent)
    """
    leaving = (*ACTIVE, SubscriptionStatus.BOUNCED.value)
    changed = session.execute(
        update(Subscription)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.list_id == list_id,
            Subscription.status.in_(leaving),
        )
        .values(status=SubscriptionStatus.UNSUBSCRIBED.value, unsubscribed_at=now, updated_at=now)
        .returning(Subscription.id)
    ).all()
    return bool(changed)


def mark_bounced(
    session: Session, subscriber_id: int, now: dt.datetime, list_id: int | None = None
) -> int:
    """Mark a person's active subscriptions bounced: on one list, or on all (``list_id`` None).

    :returns: how many subscriptions changed
    """
    query = update(Subscription).where(
        Subscription.subscriber_id == subscriber_id, Subscription.status.in_(ACTIVE)
    )
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    changed = session.execute(
        query.values(status=SubscriptionStatus.BOUNCED.value, updated_at=now).returning(
            Subscription.id
        )
    ).all()
    return len(changed)


def count_soft_bounce(
    session: Session, subscriber_id: int, list_id: int, threshold: int, now: dt.datetime
) -> bool:
    """Add one soft bounce to a subscription; at ``threshold`` it becomes bounced.

    :returns: whether the subscription became bounced now
    """
    count = session.scalar(
        update(Subscription)
        .where(Subscription.subscriber_id == subscriber_id, Subscription.list_id == list_id)
        .values(soft_bounces=Subscription.soft_bounces + 1, updated_at=now)
        .returning(Subscription.soft_bounces)
    )
    if count is None or count < threshold:
        return False
    return mark_bounced(session, subscriber_id, now, list_id) > 0


def suppress(session: Session, subscriber_id: int, reason: str, key: str, detail: str = "") -> bool:
    """Put a subscriber's address on the suppression list, unless it is there already.

    :param reason: ``hard_bounce`` or ``complaint``
    :param key: the secret key of the address HMAC (the current one)
    :returns: whether a suppression was added
    """
    address = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id))
    if address is None:
        return False
    digest = email_hmac(address, key)
    if session.scalar(select(Suppression.id).where(Suppression.email_hmac == digest)) is not None:
        return False
    session.add(
        Suppression(
            email_hmac=digest, subscriber_id=subscriber_id, reason=reason, detail=detail[:1000]
        )
    )
    session.flush()
    return True
