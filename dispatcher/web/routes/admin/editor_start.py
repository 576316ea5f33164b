"""A new edition's form, started from the newsletter's previous edition.

What an office wants from last week's issue is its frame, not its news: the same
newsletter (so the same masthead, colours and footer, which live in its settings),
the next number, the date of the next weekly slot the sending calendar allows, the
subject's fixed part ("Cronache da Palazzo Cisterna n. 45: "), and as many highlight
rows and articles as last time, each article keeping its author's initials. Titles,
texts, links and pictures start empty: copying them would let last week's news go out
again under a new number by an oversight nobody notices in a long bulletin.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.editions.model import Edition as EditionContent
from dispatcher.models import Edition
from dispatcher.office import scheduling
from dispatcher.office.edition_store import editions_of
from dispatcher.web.routes.admin.editor_draft import ArticleDraft, EditionDraft, HighlightDraft
from subscribers.orm import utcnow
from subscribers.service import get_list_by_id

WEEK = dt.timedelta(days=7)


def next_draft(session: Session, settings: Settings, previous: Edition) -> EditionDraft:
    """The form of the edition after ``previous`` (see the module's note for what is kept)."""
    content = EditionContent.from_dict(previous.content)
    newest = editions_of(session, previous.list_id)
    number = (newest[0].number if newest else content.number) + 1
    return EditionDraft(
        newsletter=content.newsletter,
        number=str(number),
        date=next_date(session, settings, previous, utcnow()).isoformat(),
        subject=subject_start(content.subject, content.number, number),
        cover={},
        highlights=tuple(HighlightDraft(key=i) for i in range(1, len(content.highlights) + 1)),
        articles=tuple(
            ArticleDraft(initials=a.initials, key=i) for i, a in enumerate(content.articles, 1)
        )
        or (ArticleDraft(key=1),),
    )


def next_date(session: Session, settings: Settings, previous: Edition, now: dt.datetime) -> dt.date:
    """The day of the newsletter's next allowed weekly slot after ``previous`` and ``now``.

    Without a weekly slot: a week after the previous edition, and not before today.
    """
    mailing_list = get_list_by_id(session, previous.list_id)
    zone = mailing_list.timezone or scheduling.DEFAULT_ZONE
    after_previous = scheduling.local_to_utc(
        previous.issue_date + dt.timedelta(days=1), dt.time(0, 0), zone
    )
    since = max(now, after_previous)
    slot = scheduling.proposal(session, settings, mailing_list, since)
    if slot is not None:
        return scheduling.to_local(slot, zone).date()
    return max(previous.issue_date + WEEK, scheduling.to_local(now, zone).date())


def subject_start(subject: str, old: int, new: int) -> str:
    """The subject's fixed part with the new number, or "" if it does not hold the old one.

    "Cronache n. 44: verso il Piano" becomes "Cronache n. 45: ", ready to be completed.
    """
    found = re.search(rf"(?<!\d){old}(?!\d)", subject)
    if found is None:
        return ""
    head = subject[: found.start()] + str(new)
    rest = subject[found.end() :]
    colon = re.match(r"\s*[:—–-]\s*", rest)
    return head + (colon.group(0) if colon else "")
