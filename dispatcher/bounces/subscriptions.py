"""The subscription and suppression changes that bounces and complaints cause.

Unsubscribing and suppressing go through the ``subscribers`` services (which
keep the consent record and the keyed HMACs); marking subscriptions bounced and
counting soft bounces are bounce-specific and live here. Like every service they
take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dispatcher.models import BounceEvent, BounceKind, Delivery, DeliveryStatus, Send
from subscribers import consent, suppression
from subscribers.models import Subscriber, Subscription
from subscribers.orm import SubscriptionStatus

#: Subscriptions that still receive mail (or will, once confirmed).
ACTIVE = (SubscriptionStatus.CONFIRMED.value, SubscriptionStatus.PENDING.value)


def unsubscribe(session: Session, subscriber_id: int, list_id: int, how: str) -> bool:
    """Take a person off one list (through the subscribers service, which keeps the record).

    :param how: ``mailto`` or ``complaint``
    :returns: whether the subscription changed (False if already unsubscribed or absent)
    """
    before = session.scalar(
        select(Subscription.status).where(
            Subscription.subscriber_id == subscriber_id, Subscription.list_id == list_id
        )
    )
    consent.unsubscribe(session, subscriber_id, list_id, how=how)
    return before is not None and before != SubscriptionStatus.UNSUBSCRIBED.value


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


def count_soft_bounce(session: Session, row: Delivery, threshold: int, now: dt.datetime) -> bool:
    """Count a soft bounce of ``row`` against its subscription; at ``threshold`` it is bounced.

    The count starts again at one when a message reached the person (a ledger
    row still ``sent``, on any list) between their previous soft-bounced
    delivery and this one: the threshold is for consecutive failures, and a full
    mailbox in March says nothing once April's edition arrived. Decided here,
    when a bounce is recorded, so sending (which records outcomes in bulk
    through the journal) pays nothing for it.

    :returns: whether the subscription became bounced now
    """
    mine = (Subscription.subscriber_id == row.subscriber_id, Subscription.list_id == row.list_id)
    grown = 1 if _delivered_since_last_soft_bounce(session, row) else Subscription.soft_bounces + 1
    count = session.scalar(
        update(Subscription)
        .where(*mine)
        .values(soft_bounces=grown, updated_at=now)
        .returning(Subscription.soft_bounces)
    )
    if count is None or count < threshold:
        return False
    return mark_bounced(session, row.subscriber_id, now, row.list_id) > 0


def _delivered_since_last_soft_bounce(session: Session, row: Delivery) -> bool:
    """Whether a send between the person's previous soft bounce on this list and ``row``
    left them a row still ``sent`` (accepted by the relay and not bounced since)."""
    previous = session.scalar(
        select(func.max(Delivery.send_id))
        .join(BounceEvent, BounceEvent.delivery_id == Delivery.id)
        .where(
            BounceEvent.subscriber_id == row.subscriber_id,
            BounceEvent.list_id == row.list_id,
            BounceEvent.kind == BounceKind.SOFT.value,
            BounceEvent.delivery_id != row.id,
            Delivery.send_id < row.send_id,
        )
    )
    if previous is None:
        return False
    # One probe of the (send, subscriber) key per send in between: sends are few.
    between = select(Send.id).where(Send.id > previous, Send.id < row.send_id)
    found = session.scalar(
        select(Delivery.id)
        .where(
            Delivery.send_id.in_(between),
            Delivery.subscriber_id == row.subscriber_id,
            Delivery.status == DeliveryStatus.SENT.value,
        )
        .limit(1)
    )
    return found is not None


def suppress(
    session: Session, subscriber_id: int, reason: str, keys: Sequence[str], detail: str = ""
) -> bool:
    """Put a subscriber's address on the suppression list (the subscribers service).

    :param reason: ``hard_bounce`` or ``complaint``
    :param keys: the secret keys of the address HMAC, current first
    :returns: whether the address was not suppressed before
    """
    address = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id))
    if address is None:
        return False
    new = not suppression.is_suppressed(session, keys, address)
    suppression.suppress(
        session, keys, address, suppression.SuppressionReason(reason), detail[:1000]
    )
    return new
