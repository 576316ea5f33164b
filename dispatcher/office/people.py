"""The office's work on one person: what we hold about them, and changing it, audited.

The person page and the GDPR export share :func:`dispatcher.office.privacy.export_person`,
so the page shows exactly what the export hands over. Each change goes through the
services of ``subscribers`` (consent, suppression) or of ``privacy`` (erasure) and
leaves an audit entry naming the subscriber by id, never by address (the audit log
outlives an erasure's scrub only if it holds no address to scrub).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.office.privacy import Erasure, erase_person, export_person
from dispatcher.office.users import audit
from subscribers.consent import find_subscription, unsubscribe
from subscribers.directory import add_by_office
from subscribers.models import Subscriber, Subscription
from subscribers.privacy import find_person
from subscribers.service import all_lists, get_list, get_list_by_id
from subscribers.suppression import SuppressionReason, suppress

TARGET = "subscriber"


def get_person(session: Session, subscriber_id: int) -> Subscriber:
    """:raises NotFoundError: if there is no subscriber with this id"""
    found = session.get(Subscriber, subscriber_id)
    if found is None:
        raise NotFoundError(f"there is no subscriber {subscriber_id}")
    return found


def person_record(session: Session, keys: Sequence[str], subscriber_id: int) -> dict[str, Any]:
    """Everything held about the person (the export's record), for the page.

    :raises NotFoundError: if there is no subscriber with this id
    """
    return export_person(session, keys, get_person(session, subscriber_id).email)


def export_for(
    session: Session, keys: Sequence[str], subscriber_id: int, actor: str
) -> dict[str, Any]:
    """The GDPR export (art. 15) of the person, with an audit entry saying who took it."""
    record = person_record(session, keys, subscriber_id)
    audit(session, actor, "subscriber.export", TARGET, subscriber_id)
    return record


def add_to_list(
    session: Session,
    keys: Sequence[str],
    subscriber_id: int,
    list_id: int,
    actor: str,
    *,
    confirmed: bool,
) -> Subscription:
    """Put the person on a list for the office (see :func:`subscribers.directory.add_by_office`)."""
    mailing_list = get_list_by_id(session, list_id)
    added = add_by_office(session, keys, subscriber_id, list_id, confirmed=confirmed)
    audit(
        session, actor, "subscriber.add", TARGET, subscriber_id,
        list=mailing_list.slug, status=added.status,
    )  # fmt: skip
    return added


def leave_list(session: Session, subscriber_id: int, list_id: int, actor: str) -> bool:
    """Take the person off one list (their other lists stay); whether anything changed."""
    mailing_list = get_list_by_id(session, list_id)
    get_person(session, subscriber_id)
    before = _status(session, subscriber_id, list_id)
    after = unsubscribe(session, subscriber_id, list_id, how="admin")
    changed = after is not None and before != after.status
    if changed:
        audit(
            session, actor, "subscriber.unsubscribe", TARGET, subscriber_id, list=mailing_list.slug
        )
    return changed


def leave_list_by_address(session: Session, email: str, slug: str, actor: str) -> bool:
    """:func:`leave_list` for the command line, which knows the address and the list's slug.

    :raises UnknownSubscriberError: if nobody has the address
    :raises UnknownListError: if no list has the slug
    """
    mailing_list = get_list(session, slug)
    return leave_list(session, find_person(session, email).id, mailing_list.id, actor)


def suppress_person(
    session: Session, keys: Sequence[str], subscriber_id: int, detail: str, actor: str
) -> None:
    """Never mail the person again, whatever their subscriptions say (reason ``manual``)."""
    person = get_person(session, subscriber_id)
    suppress(session, keys, person.email, SuppressionReason.MANUAL, detail)
    audit(session, actor, "subscriber.suppress", TARGET, subscriber_id)


def erase(session: Session, keys: Sequence[str], subscriber_id: int, actor: str) -> Erasure:
    """Forget the person (GDPR art. 17); the audit entry keeps only the id."""
    done = erase_person(session, keys, get_person(session, subscriber_id).email)
    audit(
        session, actor, "subscriber.erase", TARGET, subscriber_id,
        subscriptions=done.subscriptions, deliveries=done.deliveries,
    )  # fmt: skip
    return done


def list_choices(session: Session) -> list[tuple[int, str, str]]:
    """``(id, slug, name)`` of every list, for the page's "add to a list" form."""
    return [(item.id, item.slug, item.name) for item in all_lists(session)]


def _status(session: Session, subscriber_id: int, list_id: int) -> str | None:
    found = find_subscription(session, subscriber_id, list_id)
    return None if found is None else found.status
