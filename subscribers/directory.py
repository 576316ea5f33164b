"""The office's directory of people: finding someone by address or name, adding them to a list.

Search is by prefix, whatever the case, on ``lower(email)`` and ``lower(name)``:
migration 0013 indexes both expressions with ``text_pattern_ops`` on PostgreSQL, so a
prefix reads a range of an index, not the table, at a million people. Pages follow
the order of ``lower(email)`` (unique, so a page starts strictly after the last
address of the one before: no OFFSET, which would read every row it skips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from subscribers import consent_history
from subscribers.consent import find_subscription
from subscribers.errors import SubscriptionStateError, UnknownSubscriberError
from subscribers.models import Subscriber, Subscription
from subscribers.orm import ConsentEventKind, ConsentSource, SubscriptionStatus, utcnow
from subscribers.suppression import find_suppression

PAGE_SIZE = 50
MAX_QUERY = 200  # characters; an address is at most 254, a prefix needs far fewer


@dataclass(frozen=True)
class PeoplePage:
    """One page of a search: the people, and where the next page starts (None: no more)."""

    people: list[Subscriber]
    next_after: str | None


def search_people(
    session: Session, query: str = "", after: str = "", limit: int = PAGE_SIZE
) -> PeoplePage:
    """People whose address or name starts with ``query`` (any case), by address.

    :param after: the lower-cased address the previous page ended with
    """
    people = list(session.scalars(search_statement(query, after, limit + 1)))
    more = len(people) > limit
    people = people[:limit]
    return PeoplePage(people, people[-1].email.lower() if more else None)


def search_statement(query: str, after: str, limit: int) -> Select[Subscriber]:
    """The SELECT behind :func:`search_people` (the tests EXPLAIN it)."""
    key = func.lower(Subscriber.email)
    statement = select(Subscriber).order_by(key).limit(limit)
    prefix = query.strip()[:MAX_QUERY]
    if prefix:
        statement = statement.where(_starts_with(prefix))
    if after:
        statement = statement.where(key > after)
    return statement


def _starts_with(prefix: str) -> ColumnElement[bool]:
    # The database lower-cases the prefix as it lower-cased the indexed columns; the
    # LIKE wildcards a person may type are escaped, so "_" and "%" match themselves.
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = func.lower(escaped) + "%"
    return or_(
        func.lower(Subscriber.email).like(pattern, escape="\\"),
        func.lower(Subscriber.name).like(pattern, escape="\\"),
    )


def add_by_office(
    session: Session,
    keys: Sequence[str],
    subscriber_id: int,
    list_id: int,
    *,
    confirmed: bool,
) -> Subscription:
    """Put a person on a list for the office (consent source ``admin``).

    ``confirmed`` means the office holds the person's consent (as ``import --confirmed``);
    otherwise the subscription waits as pending. Someone who left the list, bounced
    or is suppressed comes back only through their own sign-up: the office cannot
    undo a withdrawal or a suppression here.

    :raises UnknownSubscriberError: if there is no such person (or they were erased)
    :raises SubscriptionStateError: if they left or bounced, or the address is suppressed
    """
    person = session.get(Subscriber, subscriber_id)
    if person is None or person.erased_at is not None:
        raise UnknownSubscriberError(f"there is no subscriber {subscriber_id}")
    if find_suppression(session, keys, person.email) is not None:
        raise SubscriptionStateError(
            "the address is suppressed: only their own sign-up lifts it"
        ).coded("person.suppressed_add")
    subscription = find_subscription(session, subscriber_id, list_id)
    if subscription is not None and subscription.status not in _MAY_ADD:
        raise SubscriptionStateError(
            f"the person is {subscription.status} on this list: only their own sign-up "
            "brings them back"
        ).coded("person.left_add")
    now = utcnow()
    if subscription is None:
        subscription = Subscription(
            list_id=list_id,
            subscriber_id=subscriber_id,
            status=SubscriptionStatus.PENDING.value,
            consented_at=now,
            soft_bounces=0,
        )
        session.add(subscription)
    subscription.source = ConsentSource.ADMIN.value
    subscription.updated_at = now
    if confirmed and subscription.status != SubscriptionStatus.CONFIRMED:
        subscription.status = SubscriptionStatus.CONFIRMED.value
        subscription.confirmed_at = now
        consent_history.record(
            session, subscriber_id, ConsentEventKind.CONFIRMED, source="admin", list_id=list_id
        )
    session.flush()
    return subscription


_MAY_ADD = (SubscriptionStatus.PENDING.value, SubscriptionStatus.CONFIRMED.value)
