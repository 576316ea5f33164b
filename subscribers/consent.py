"""Consent: signing up, confirming and leaving a list, each step recorded on the subscription.

These are the services the public web pages call. Each takes a session and
leaves the transaction to the caller. A subscription keeps how consent was given
(``source``: form, import or admin), when (``consented_at``, ``confirmed_at``),
the IP address of a web sign-up and the version of the privacy notice shown;
a withdrawal keeps when (``unsubscribed_at``) and how (in the person's attributes).

Typical web flow::

    sub = record_signup(session, list_id, email, name, ip=ip, privacy_version="2025-01")
    # ... mail a confirmation link signed for (sub.subscriber_id, sub.list_id) ...
    confirm(session, keys, subscriber_id, list_id)         # the link was followed
    unsubscribe(session, subscriber_id, list_id, how="one-click")
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from subscribers.addresses import normalise
from subscribers.attributes import normalise_language, record_unsubscribe, with_sections
from subscribers.errors import SubscriptionStateError, UnknownListError, UnknownSubscriberError
from subscribers.models import MailingList, Subscriber, Subscription, has_address
from subscribers.orm import ConsentSource, SubscriptionStatus, utcnow
from subscribers.suppression import lift

#: The statuses in which a person is on a list, or about to be.
ACTIVE_STATUSES = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING)
#: Ways of leaving a list, for :func:`unsubscribe`'s ``how``.
UNSUBSCRIBE_WAYS = frozenset({"one-click", "link", "preferences", "mailto", "complaint", "admin"})


def record_signup(
    session: Session,
    list_id: int,
    email: str,
    name: str = "",
    *,
    ip: str | None,
    privacy_version: str,
    language: str = "it",
) -> Subscription:
    """Record a web sign-up: the subscription is ``pending`` until the person confirms.

    Signing up again refreshes the consent record (time, IP, privacy version) of a
    pending subscription, and re-opens one the person had left or that bounced: it
    is a new consent, still to be confirmed. A confirmed subscription is left as it is.
    The name and language are only set if we had none: until the address is
    confirmed, anyone could have typed it.

    :param ip: the sign-up request's client address (kept as consent evidence)
    :param privacy_version: the version of the privacy notice the form showed
    :raises InvalidAddressError: if ``email`` is not a valid address
    :raises UnknownListError: if the list does not exist
    """
    if session.get(MailingList, list_id) is None:
        raise UnknownListError(f"no list with id {list_id}")
    subscriber = _subscriber_for(session, normalise(email), name, language)
    subscription = find_subscription(session, subscriber.id, list_id)
    if subscription is None:
        subscription = Subscription(list_id=list_id, subscriber_id=subscriber.id)
        session.add(subscription)
    elif subscription.status == SubscriptionStatus.CONFIRMED:
        return subscription
    now = utcnow()
    subscription.status = SubscriptionStatus.PENDING.value
    subscription.source = ConsentSource.FORM.value
    subscription.consent_ip, subscription.privacy_version = ip, privacy_version
    subscription.consented_at, subscription.updated_at = now, now
    subscription.confirmed_at = subscription.unsubscribed_at = None
    subscription.soft_bounces = 0
    session.flush()
    return subscription


def confirm(
    session: Session, keys: Sequence[str], subscriber_id: int, list_id: int
) -> Subscription:
    """Confirm a pending subscription (double opt-in); confirming twice changes nothing.

    A confirmation is new, explicit consent from someone who reads the address, so
    the address comes off the suppression list (an erased person signing up again,
    a mailbox that bounced and works again).

    :param keys: the secret keys, current first (the suppression list is keyed with them)
    :raises UnknownSubscriberError: if the person is not on the list
    :raises SubscriptionStateError: if they left the list or bounced since signing up
    """
    subscription = _existing(session, subscriber_id, list_id)
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return subscription
    if subscription.status != SubscriptionStatus.PENDING:
        raise SubscriptionStateError(
            f"subscription of subscriber {subscriber_id} to list {list_id} is "
            f"{subscription.status}, not pending: sign up again"
        )
    now = utcnow()
    subscription.status = SubscriptionStatus.CONFIRMED.value
    subscription.confirmed_at = subscription.updated_at = now
    lift(session, keys, subscription.subscriber.email)
    session.flush()
    return subscription


def unsubscribe(
    session: Session, subscriber_id: int, list_id: int, *, how: str
) -> Subscription | None:
    """Take a person off a list; unsubscribing twice changes nothing.

    :param how: the way they left, one of :data:`UNSUBSCRIBE_WAYS` (kept with the person)
    :returns: the subscription, or None if they were never on the list
        (an unsubscribe link must still say "done": the person is off the list)
    :raises ValueError: for an unknown ``how``
    """
    if how not in UNSUBSCRIBE_WAYS:
        raise ValueError(f"unknown way of unsubscribing {how!r}")
    subscription = find_subscription(session, subscriber_id, list_id)
    if subscription is None or subscription.status == SubscriptionStatus.UNSUBSCRIBED:
        return subscription
    now = utcnow()
    subscription.status = SubscriptionStatus.UNSUBSCRIBED.value
    subscription.unsubscribed_at = subscription.updated_at = now
    record_unsubscribe(subscription.subscriber, list_id, how, now)
    session.flush()
    return subscription


def _subscriber_for(session: Session, email: str, name: str, language: str) -> Subscriber:
    subscriber = session.scalar(select(Subscriber).where(has_address(email)))
    if subscriber is None:
        subscriber = Subscriber(email=email, name="", attributes={})
        session.add(subscriber)
    subscriber.name = subscriber.name or " ".join(name.split())[:200]
    if subscriber.id is None:
        subscriber.language = normalise_language(language) or "it"
    session.flush()
    return subscriber


def find_subscription(session: Session, subscriber_id: int, list_id: int) -> Subscription | None:
    """The person's subscription to the list, or None if they never signed up."""
    return session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.list_id == list_id
        )
    )


def _existing(session: Session, subscriber_id: int, list_id: int) -> Subscription:
    subscription = find_subscription(session, subscriber_id, list_id)
    if subscription is None:
        raise UnknownSubscriberError(f"subscriber {subscriber_id} is not on list {list_id}")
    return subscription


def choose_lists(
    session: Session,
    subscriber: Subscriber,
    offered: Sequence[MailingList],
    wanted: set[str],
    *,
    ip: str | None,
    privacy_version: str,
) -> list[MailingList]:
    """The preferences page's choice of lists: leave those turned off, sign up to those turned on.

    A list turned on is new consent: its subscription becomes pending, and the
    caller mails the confirmation link.

    :param offered: the lists the page showed; others are left as they are
    :param wanted: the slugs of the lists the person wants
    :returns: the lists signed up to (pending), for the confirmation mails
    """
    statuses = {s.list_id: s.status for s in subscriber.subscriptions}
    started: list[MailingList] = []
    for mailing_list in offered:
        active = statuses.get(mailing_list.id) in ACTIVE_STATUSES
        if active and mailing_list.slug not in wanted:
            unsubscribe(session, subscriber.id, mailing_list.id, how="preferences")
        elif not active and mailing_list.slug in wanted:
            record_signup(
                session,
                mailing_list.id,
                subscriber.email,
                ip=ip,
                privacy_version=privacy_version,
                language=subscriber.language,
            )
            started.append(mailing_list)
    session.expire(subscriber, ["subscriptions"])
    return started


def set_preferences(
    session: Session, subscriber: Subscriber, sections: set[str], language: str | None
) -> None:
    """Keep the sections a person chose and, when given, the language of their mails."""
    subscriber.attributes = with_sections(subscriber.attributes or {}, sections)
    if language is not None:
        subscriber.language = language
    session.flush()
