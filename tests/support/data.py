"""Test data: the example newsletter, its edition, and many subscribers quickly."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.editions.newsletter import load_newsletter_settings
from dispatcher.office.edition_store import add_edition, read_source
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.service import create_list

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EDITION_FILE = EXAMPLES / "cronache-da-palazzo-cisterna.md"
NEWSLETTER_FILE = EXAMPLES / "cronache.toml"

#: The opening of a small valid edition file, each field on a line of its own: tests
#: that name line numbers build on it, so the numbers stay the same in every one.
EDITION_HEAD = """\
---
newsletter: cronache
number: 44
date: 2024-12-06
subject: Oggetto della settimana
preheader: Anteprima del numero
cover:
  title: Copertina
  image: https://example.org/a.jpg
  image_alt: Una foto
  link: https://example.org/a
"""


def create_newsletter(session: Session, slug: str = "cronache") -> MailingList:
    """The example newsletter's list (the edition file names ``cronache``)."""
    settings = load_newsletter_settings(NEWSLETTER_FILE).to_dict()
    return create_list(session, slug, "Cronache da Palazzo Cisterna", settings)


def add_import_lists(session: Session) -> None:
    """The two lists the import tests fill: ``cronache`` and ``eventi``."""
    create_list(session, "cronache", "Cronache da Palazzo Cisterna")
    create_list(session, "eventi", "Eventi")


def add_example_edition(session: Session, settings: Settings) -> int:
    return add_edition(session, read_source(EDITION_FILE), str(EDITION_FILE), settings).id


def add_readers_and_edition(session: Session, settings: Settings, readers: int) -> int:
    """The example newsletter with ``readers`` confirmed subscribers, and the example edition.

    :returns: the edition's id (the subscribers are ``address(0)`` onwards).
    """
    list_id = create_newsletter(session).id
    if readers:  # an INSERT of no rows would insert one of defaults
        add_subscribers(session, list_id, readers)
    return add_example_edition(session, settings)


def address(index: int, domain: str = "example.org") -> str:
    return f"reader{index:06d}@{domain}"


def add_subscribers(
    session: Session,
    list_id: int,
    count: int,
    *,
    start: int = 0,
    domain: str = "example.org",
    status: str = "confirmed",
) -> list[int]:
    """Insert ``count`` subscribers on a list in a few statements; returns their ids."""
    rows = [
        {"email": address(i, domain), "name": f"Lettore {i}", "language": "it", "attributes": {}}
        for i in range(start, start + count)
    ]
    ids = list(session.scalars(insert(Subscriber).returning(Subscriber.id), rows))
    session.execute(
        insert(Subscription),
        [
            {"list_id": list_id, "subscriber_id": i, "status": status, "source": "import"}
            for i in ids
        ],
    )
    return ids


def subscriber_id(session: Session, index: int) -> int:
    """The id of the subscriber ``add_subscribers`` gave ``address(index)``."""
    found = session.scalar(select(Subscriber.id).where(Subscriber.email == address(index)))
    assert found is not None, address(index)
    return found


def unsubscribe(session: Session, subscriber: int) -> None:
    """Mark the person's subscriptions unsubscribed, as if they had left meanwhile."""
    session.execute(
        update(Subscription)
        .where(Subscription.subscriber_id == subscriber)
        .values(status="unsubscribed")
    )
