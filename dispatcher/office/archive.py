"""Which editions are public: those that went out, for the archive and its feed.

An edition is public once it went out: when a send of it has started (running,
paused or finished). A scheduled send has not gone out yet, and a send cancelled
before it started has no ``started_at``; an edition whose only sends were
cancelled after some mail left counts as withdrawn by the office and stays hidden.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.models import Edition, Send, SendState

PUBLISHED_STATES = (SendState.RUNNING.value, SendState.PAUSED.value, SendState.FINISHED.value)


@dataclass(frozen=True)
class PublishedEdition:
    """An edition that went out, as the archive shows it."""

    number: int
    subject: str
    issue_date: dt.date
    updated_at: dt.datetime
    published: dt.datetime  # when its first send started
    preheader: str  # the feed's summary


def published_editions(
    session: Session, list_id: int, *, limit: int | None = None, before: int | None = None
) -> list[PublishedEdition]:
    """The list's editions that went out, newest first (at most ``limit`` of them).

    :param before: only editions numbered below this one (the next page's start)
    """
    first_sent = (
        select(Send.edition_id, func.min(Send.started_at).label("published"))
        .where(Send.state.in_(PUBLISHED_STATES), Send.started_at.is_not(None))
        .group_by(Send.edition_id)
        .subquery()
    )
    query = (
        select(
            Edition.number,
            Edition.subject,
            Edition.issue_date,
            Edition.updated_at,
            first_sent.c.published,
            # Only the preheader out of the content: the articles would weigh megabytes.
            Edition.content["preheader"].as_string(),
        )
        .join(first_sent, first_sent.c.edition_id == Edition.id)
        .where(Edition.list_id == list_id, Edition.number < (before or 2**31 - 1))
        .order_by(Edition.number.desc())
        .limit(limit)
    )
    return [
        PublishedEdition(number, subject, issue_date, updated, published, preheader or "")
        for number, subject, issue_date, updated, published, preheader in session.execute(query)
    ]


def published_html(session: Session, list_id: int, number: int) -> str:
    """The stored HTML of edition ``number`` of a list, if it went out.

    :raises NotFoundError: if there is no such edition, or it has not gone out
    """
    went_out = select(Send.id).where(
        Send.edition_id == Edition.id,
        Send.state.in_(PUBLISHED_STATES),
        Send.started_at.is_not(None),
    )
    html = session.scalar(
        select(Edition.html).where(
            Edition.list_id == list_id, Edition.number == number, went_out.exists()
        )
    )
    if html is None:
        raise NotFoundError(f"list {list_id} has no published edition {number}")
    return html
