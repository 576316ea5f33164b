"""Lists and subscriptions: the services the CLI, the web app and the importer share.

Every function takes a session and leaves the transaction to the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from subscribers.errors import InputError, UnknownListError
from subscribers.models import MailingList, Subscriber, has_address


def create_list(
    session: Session, slug: str, name: str, settings: dict[str, Any] | None = None
) -> MailingList:
    """Create a list; ``settings`` are its newsletter settings, if it is a newsletter.

    :raises InputError: if the slug is taken or not made of lower-case letters, digits and dashes
    """
    if not slug or not all(c.isascii() and (c.isalnum() or c == "-") for c in slug):
        raise InputError(f"list slug {slug!r}: use lower-case letters, digits and dashes")
    if slug != slug.lower():
        raise InputError(f"list slug {slug!r}: use lower-case letters")
    if session.scalar(select(MailingList.id).where(MailingList.slug == slug)) is not None:
        raise InputError(f"a list with slug {slug!r} already exists")
    mailing_list = MailingList(slug=slug, name=name, settings=settings or {})
    session.add(mailing_list)
    session.flush()
    return mailing_list


def get_list(session: Session, slug: str) -> MailingList:
    """:raises UnknownListError: if no list has ``slug``"""
    found = session.scalar(select(MailingList).where(MailingList.slug == slug))
    if found is None:
        raise UnknownListError(f"no list with slug {slug!r}")
    return found


def all_lists(session: Session) -> list[MailingList]:
    return list(session.scalars(select(MailingList).order_by(MailingList.slug)))


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The subscriber with this address, whatever its case."""
    return session.scalar(select(Subscriber).where(has_address(email)))
