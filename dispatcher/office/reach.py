"""Reach without tracking: count clicks, web-version views and unsubscribes per edition.

Nothing here knows who: a click is one ``+ 1`` on the row of (edition, link), a view one
``+ 1`` on the edition's row, and the unsubscribes after an edition are the subscriptions
of its list that ended between its send and the next edition's. The redirect accepts only
the links the stored edition holds (:func:`dispatcher.render.reach.edition_links`), so it
cannot be used to send people elsewhere. Services: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dispatcher.editions.model import Edition as EditionContent
from dispatcher.errors import NotFoundError
from dispatcher.models import Edition, EditionClicks, EditionViews, Send
from dispatcher.office.edition_store import newsletter_settings
from dispatcher.render.reach import edition_links, link_key
from subscribers.models import MailingList, Subscription
from subscribers.service import newsletter_lists

#: Sends whose start opens an edition's window (dry runs, corrections and late sends do not).
_OPENING_KIND = "normal"


@dataclass(frozen=True)
class EditionReach:
    """What an edition's page shows: clicks per link, views and unsubscribes after it."""

    edition_id: int
    links: tuple[tuple[str, int], ...]  # (address, clicks), in the edition's order
    views: int
    unsubscribes_after: int | None  # None: the edition has not gone out

    @property
    def clicks(self) -> int:
        """All the edition's clicks."""
        return sum(count for _, count in self.links)


def reach_newsletters(session: Session) -> list[str]:
    """The names of the newsletters that count their reach (for the privacy notice)."""
    lists = newsletter_lists(session)
    return [item.name for item in lists if newsletter_settings(item).reach]


def count_click(session: Session, slug: str, number: int, key: str) -> str:
    """Count one click on the link of an edition that ``key`` names and say where it leads.

    :raises NotFoundError: no such newsletter, edition or link (nothing is counted)
    """
    edition = session.scalar(
        select(Edition)
        .join(MailingList, MailingList.id == Edition.list_id)
        .where(MailingList.slug == slug, Edition.number == number)
    )
    links = () if edition is None else edition_links(EditionContent.from_dict(edition.content))
    target = next((link for link in links if link_key(link) == key), None)
    if edition is None or target is None:
        raise NotFoundError(f"edition {slug}/{number} has no link {key}")
    _increment(session, EditionClicks, {"edition_id": edition.id, "link_key": key}, "clicks")
    return target


def count_view(session: Session, list_id: int, number: int) -> None:
    """Count one view of the web version of edition ``number`` of a list (if it exists)."""
    edition_id = session.scalar(
        select(Edition.id).where(Edition.list_id == list_id, Edition.number == number)
    )
    if edition_id is not None:
        _increment(session, EditionViews, {"edition_id": edition_id}, "views")


def reach_of(session: Session, edition: Edition) -> EditionReach:
    """The figures of one edition."""
    clicks = dict(
        session.execute(
            select(EditionClicks.link_key, EditionClicks.clicks).where(
                EditionClicks.edition_id == edition.id
            )
        ).all()
    )
    links = edition_links(EditionContent.from_dict(edition.content))
    return EditionReach(
        edition_id=edition.id,
        links=tuple((link, clicks.get(link_key(link), 0)) for link in links),
        views=_views(session, edition.id),
        unsubscribes_after=unsubscribes_after(session, edition),
    )


def recent_reach(session: Session, limit: int) -> list[EditionReach]:
    """The figures of the ``limit`` newest editions that went out, newest first."""
    started = select(Send.id).where(
        Send.edition_id == Edition.id, Send.kind == _OPENING_KIND, Send.started_at.is_not(None)
    )
    editions = session.scalars(
        select(Edition).where(started.exists()).order_by(Edition.id.desc()).limit(limit)
    )
    return [reach_of(session, edition) for edition in editions]


def unsubscribes_after(session: Session, edition: Edition) -> int | None:
    """Subscriptions of the edition's list that ended between its send and the next one's.

    :returns: the count, or None if the edition has not gone out
    """
    start = _first_start(session, Send.edition_id == edition.id)
    if start is None:
        return None
    following = select(Edition.id).where(
        Edition.list_id == edition.list_id, Edition.id != edition.id
    )
    end = _first_start(session, Send.edition_id.in_(following), Send.started_at > start)
    query = select(func.count(Subscription.id)).where(
        Subscription.list_id == edition.list_id, Subscription.unsubscribed_at >= start
    )
    if end is not None:
        query = query.where(Subscription.unsubscribed_at < end)
    return session.scalar(query) or 0


def _first_start(session: Session, *conditions: Any) -> dt.datetime | None:
    query = select(func.min(Send.started_at)).where(
        Send.kind == _OPENING_KIND, Send.started_at.is_not(None), *conditions
    )
    return session.scalar(query)


def _views(session: Session, edition_id: int) -> int:
    views = session.scalar(select(EditionViews.views).where(EditionViews.edition_id == edition_id))
    return views or 0


def _increment(session: Session, model: Any, key: dict[str, Any], counter: str) -> None:
    """``INSERT ... ON CONFLICT DO UPDATE SET counter = counter + 1``: one statement."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    column = model.__table__.c[counter]
    statement = dialect.insert(model).values(**key, **{counter: 1})
    session.execute(
        statement.on_conflict_do_update(index_elements=list(key), set_={counter: column + 1})
    )
