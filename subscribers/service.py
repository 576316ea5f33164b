"""Lists and subscriptions: the services the CLI, the web app and the importer share.

Every function takes a session and leaves the transaction to the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from subscribers.errors import InputError, UnknownListError
from subscribers.models import MailingList, Subscriber, Subscription, has_address


def create_list(
    session: Session, slug: str, name: str, settings: dict[str, Any] | None = None
) -> MailingList:
    """Create a list; ``settings`` are its newsletter settings, if it is a newsletter.

    :raises InputError: if the slug is taken or not made of lower-case letters, digits and dashes
    """
    if not slug or not all(c.isascii() and (c.isalnum() or c == "-") for c in slug):
        refused = InputError(f"list slug {slug!r}: use lower-case letters, digits and dashes")
        raise refused.coded("list.bad_slug", slug=slug)
    if slug != slug.lower():
        raise InputError(f"list slug {slug!r}: use lower-case letters").coded(
            "list.bad_slug", slug=slug
        )
    if session.scalar(select(MailingList.id).where(MailingList.slug == slug)) is not None:
        raise InputError(f"a list with slug {slug!r} already exists").coded(
            "list.exists", slug=slug
        )
    mailing_list = MailingList(slug=slug, name=name, settings=settings or {})
    session.add(mailing_list)
    session.flush()
    return mailing_list


def get_list(session: Session, slug: str) -> MailingList:
    """:raises UnknownListError: if no list has ``slug``"""
    found = session.scalar(select(MailingList).where(MailingList.slug == slug))
    if found is None:
        raise UnknownListError(f"no list with slug {slug!r}").coded("list.unknown", name=slug)
    return found


def get_list_by_id(session: Session, list_id: int) -> MailingList:
    """:raises UnknownListError: if no list has ``list_id``"""
    found = session.get(MailingList, list_id)
    if found is None:
        raise UnknownListError(f"no list with id {list_id}").coded("list.unknown", name=list_id)
    return found


def all_lists(session: Session) -> list[MailingList]:
    return list(session.scalars(select(MailingList).order_by(MailingList.slug)))


def newsletter_lists(session: Session) -> list[MailingList]:
    """The lists people may subscribe to on the site: those with newsletter settings."""
    lists = session.scalars(select(MailingList).order_by(MailingList.name, MailingList.id))
    # Filtered here rather than in SQL: PostgreSQL has no equality operator for json.
    return [mailing_list for mailing_list in lists if mailing_list.settings]


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, or None."""
    return session.get(Subscriber, subscriber_id)


def subscription_counts(session: Session, list_id: int) -> dict[str, int]:
    """``status -> number of subscriptions`` on a list (statuses with none are left out)."""
    query = (
        select(Subscription.status, func.count())
        .where(Subscription.list_id == list_id)
        .group_by(Subscription.status)
    )
    return {str(status): count for status, count in session.execute(query)}


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The subscriber with this address, whatever its case."""
    return session.scalar(select(Subscriber).where(has_address(email)))
