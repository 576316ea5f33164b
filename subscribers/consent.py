"""Consent: signing up, confirming and leaving a list, each step recorded on the subscription.

These are the services the public web pages call. Each takes a session and
leaves the transaction to the caller. A subscription keeps how consent was given
(``source``: form, import or admin), when (``consented_at``, ``confirmed_at``),
the IP address of a web sign-up and the version of the privacy notice shown;
a withdrawal keeps when (``unsubscribed_at``) and how (in the person's attributes).

Typical web flow::

    signup = request_signup(session, list_id, email, name, ip=ip, privacy_version="2025-01")
    # ... mail a confirmation link signed for signup.request.id ...
    confirm_request(session, keys, request_id)              # the link was followed
    unsubscribe(session, subscriber_id, list_id, how="one-click")

A sign-up is kept as a :class:`SignupRequest` and applied only by its own link:
whoever types an address into the form changes nothing of that person's until the
address's owner confirms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from subscribers import consent_history
from subscribers.addresses import normalise
from subscribers.attributes import normalise_language, record_unsubscribe, with_sections
from subscribers.errors import SubscriptionStateError, UnknownListError, UnknownSubscriberError
from subscribers.models import MailingList, SignupRequest, Subscriber, Subscription, has_address
from subscribers.orm import ConsentEventKind, ConsentSource, SubscriptionStatus, utcnow
from subscribers.suppression import lift

#: The statuses in which a person is on a list, or about to be.
ACTIVE_STATUSES = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING)
#: Ways of leaving a list, for :func:`unsubscribe`'s ``how``.
UNSUBSCRIBE_WAYS = frozenset({"one-click", "link", "preferences", "mailto", "complaint", "admin"})
DEFAULT_REQUEST_AGE = 7 * 86400  # seconds; the web passes its CONFIRM_MAX_AGE


@dataclass(frozen=True)
class Signup:
    """What a sign-up left: the person's subscription, and the request to confirm.

    ``request`` is None when the person was already confirmed on the list: there is
    nothing to confirm, and nothing of the form was kept.
    """

    subscription: Subscription
    request: SignupRequest | None


def _pending(
    session: Session, list_id: int, subscriber_id: int, ip: str | None, privacy_version: str
) -> Subscription:
    """A new ``pending`` subscription, so the office sees who waits for their link."""
    subscription = Subscription(
        list_id=list_id,
        subscriber_id=subscriber_id,
        status=SubscriptionStatus.PENDING.value,
        source=ConsentSource.FORM.value,
        consent_ip=ip,
        privacy_version=privacy_version,
    )
    session.add(subscription)
    return subscription


def request_signup(
    session: Session,
    list_id: int,
    email: str,
    name: str = "",
    *,
    ip: str | None,
    privacy_version: str,
    language: str = "it",
    max_age: float = DEFAULT_REQUEST_AGE,
    sections: Iterable[str] | None = None,
) -> Signup:
    """Record a web sign-up as a request, applied only when its own link confirms it.

    Anyone can type anyone's address: until the address's owner confirms, the name,
    language and consent record stay in the request, and the person's data and
    subscriptions are left as they were (a withdrawal or a bounce keeps its record).
    Someone new to the list gets a ``pending`` subscription, so the office sees who
    is waiting. A person already confirmed on the list gets no request.

    :param ip: the sign-up request's client address (kept as consent evidence)
    :param privacy_version: the version of the privacy notice the form showed
    :param max_age: seconds a request lives (the link's life); older ones are deleted
    :param sections: the newsletter sections ticked on the form (applied on confirmation;
        None or none: the person's choice stays as it is)
    :raises InvalidAddressError: if ``email`` is not a valid address
    :raises UnknownListError: if the list does not exist
    """
    if session.get(MailingList, list_id) is None:
        raise UnknownListError(f"no list with id {list_id}")
    subscriber = _subscriber_for(session, normalise(email))
    subscription = find_subscription(session, subscriber.id, list_id)
    if subscription is not None and subscription.status == SubscriptionStatus.CONFIRMED:
        return Signup(subscription, None)
    if subscription is None:
        subscription = _pending(session, list_id, subscriber.id, ip, privacy_version)
    _forget_old_requests(session, max_age)
    request = SignupRequest(
        subscriber_id=subscriber.id,
        list_id=list_id,
        name=" ".join(name.split())[:200],
        language=normalise_language(language) or "it",
        sections=sorted(set(sections)) if sections else None,
        consent_ip=ip,
        privacy_version=privacy_version,
    )
    session.add(request)
    consent_history.record(
        session, subscriber.id, ConsentEventKind.SIGNUP_REQUESTED, source=ConsentSource.FORM.value,
        list_id=list_id, ip=ip, privacy_version=privacy_version,
    )  # fmt: skip
    session.flush()
    return Signup(subscription, request)


def confirm_request(
    session: Session, keys: Sequence[str], request_id: int, *, ip: str | None = None
) -> Subscription:
    """Confirm the sign-up ``request_id`` and apply what it carried; twice changes nothing.

    Its name (when one was given) and language become the person's, its consent
    record the subscription's, and the address comes off the suppression list (see
    :func:`confirm`). A request whose subscription was confirmed since (by another
    request, say) is only marked used: its data is not applied.

    :param keys: the secret keys, current first (the suppression list is keyed with them)
    :param ip: the client address of the confirmation, kept in the consent history
    :raises UnknownSubscriberError: if the request is gone (too old, or the person erased)
    :raises SubscriptionStateError: if the person left the list or bounced after the request
        was made or used (its old link does not bring them back)
    """
    request = find_request(session, request_id)
    if request is None:
        raise UnknownSubscriberError(f"no sign-up request {request_id}")
    subscription = find_subscription(session, request.subscriber_id, request.list_id)
    if subscription is None:
        raise UnknownSubscriberError(f"the subscription of sign-up request {request_id} is gone")
    if subscription.status != SubscriptionStatus.CONFIRMED:
        if request.confirmed_at is not None or changed_since(subscription, request):
            raise SubscriptionStateError(
                f"subscription {subscription.id} is {subscription.status} since sign-up "
                f"request {request.id} was made or used: sign up again"
            )
        _apply(session, keys, subscription, request)
        consent_history.record(
            session,
            request.subscriber_id,
            ConsentEventKind.CONFIRMED,
            source=ConsentSource.FORM.value,
            list_id=request.list_id,
            ip=ip,
            privacy_version=request.privacy_version,
            detail=f"sign-up request {request.id}",
        )
    request.confirmed_at = request.confirmed_at or utcnow()
    session.flush()
    return subscription


def find_request(session: Session, request_id: int) -> SignupRequest | None:
    """The sign-up request, or None if it is gone (too old, or its person erased)."""
    return session.get(SignupRequest, request_id)


def changed_since(subscription: Subscription, request: SignupRequest) -> bool:
    """Whether the person left the list (or bounced) after ``request``: its link is stale.

    An unsubscribe after the request outweighs the request's old link.
    """
    return subscription.status not in ACTIVE_STATUSES and _after(
        subscription.updated_at, request.created_at
    )


def _after(first: dt.datetime, second: dt.datetime) -> bool:
    return _in_utc(first) > _in_utc(second)


def _in_utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back (stored in UTC); PostgreSQL aware ones.
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _apply(
    session: Session, keys: Sequence[str], subscription: Subscription, request: SignupRequest
) -> None:
    subscriber = subscription.subscriber
    subscriber.name = request.name or subscriber.name
    subscriber.language = request.language
    if request.sections:
        subscriber.attributes = with_sections(subscriber.attributes or {}, request.sections)
    now = utcnow()
    subscription.status = SubscriptionStatus.CONFIRMED.value
    subscription.source = ConsentSource.FORM.value
    subscription.consent_ip, subscription.privacy_version = (
        request.consent_ip,
        request.privacy_version,
    )
    subscription.consented_at = request.created_at
    subscription.confirmed_at = subscription.updated_at = now
    subscription.unsubscribed_at = None
    subscription.soft_bounces = 0
    lift(session, keys, subscriber.email)


def _forget_old_requests(session: Session, max_age: float) -> None:
    cutoff = utcnow() - dt.timedelta(seconds=max_age)
    session.execute(delete(SignupRequest).where(SignupRequest.created_at < cutoff))


def confirm(
    session: Session,
    keys: Sequence[str],
    subscriber_id: int,
    list_id: int,
    *,
    source: str = ConsentSource.ADMIN.value,
    ip: str | None = None,
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
    consent_history.record(
        session, subscriber_id, ConsentEventKind.CONFIRMED, source=source, list_id=list_id, ip=ip
    )
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
    consent_history.record(
        session, subscriber_id, ConsentEventKind.UNSUBSCRIBED, source=how, list_id=list_id
    )
    session.flush()
    return subscription


def _subscriber_for(session: Session, email: str) -> Subscriber:
    """The person with this address; someone new is added with the address alone."""
    subscriber = session.scalar(select(Subscriber).where(has_address(email)))
    if subscriber is None:
        subscriber = Subscriber(email=email, name="", attributes={})
        session.add(subscriber)
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
    max_age: float = DEFAULT_REQUEST_AGE,
) -> list[SignupRequest]:
    """The preferences page's choice of lists: leave those turned off, sign up to those turned on.

    A list turned on is new consent: a sign-up request, whose confirmation link the
    caller mails (the preferences link may have been forwarded with a newsletter).

    :param offered: the lists the page showed; others are left as they are
    :param wanted: the slugs of the lists the person wants
    :param max_age: seconds a sign-up request lives (the confirmation link's life)
    :returns: the sign-up requests made, for the confirmation mails
    """
    statuses = {s.list_id: s.status for s in subscriber.subscriptions}
    started: list[SignupRequest] = []
    for mailing_list in offered:
        active = statuses.get(mailing_list.id) in ACTIVE_STATUSES
        if active and mailing_list.slug not in wanted:
            unsubscribe(session, subscriber.id, mailing_list.id, how="preferences")
        elif not active and mailing_list.slug in wanted:
            request = request_signup(
                session,
                mailing_list.id,
                subscriber.email,
                ip=ip,
                privacy_version=privacy_version,
                language=subscriber.language,
                max_age=max_age,
            ).request
            if request is not None:
                started.append(request)
    session.expire(subscriber, ["subscriptions"])
    return started


def set_preferences(
    session: Session, subscriber: Subscriber, sections: set[str], language: str | None
) -> None:
    """Keep the sections a person chose and, when given, the language of their mails."""
    before = (sorted(subscriber.attributes.get("sections") or []), subscriber.language)
    subscriber.attributes = with_sections(subscriber.attributes or {}, sections)
    if language is not None:
        subscriber.language = language
    after = (sorted(subscriber.attributes.get("sections") or []), subscriber.language)
    if after != before:
        consent_history.record(
            session,
            subscriber.id,
            ConsentEventKind.PREFERENCES_CHANGED,
            source="preferences",
            detail=f"sections: {', '.join(after[0]) or '-'}; language: {after[1]}",
        )
    session.flush()
