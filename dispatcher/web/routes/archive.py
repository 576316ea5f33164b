"""The archive: past editions of a newsletter, their web versions and an Atom feed.

Which editions are public is :mod:`dispatcher.office.archive`'s business: those
that went out.

The web version is the edition's stored HTML, compiled once for every reader, so
it holds no personal data, only the slot sentinels where each mail gets its
reader's unsubscribe and preferences tokens. Those links are pointed at a page that
explains where the personal links are, and any other sentinel is removed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import xml.etree.ElementTree as ET  # nosec B405 - builds the feed; never parses XML
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.message.slots import SENTINEL_PREFIX, Slot, preferences_path, unsubscribe_path
from dispatcher.office.archive import PublishedEdition, published_editions, published_html
from dispatcher.office.edition_store import newsletter_settings
from dispatcher.office.reach import count_view
from dispatcher.render.context import italian_date
from dispatcher.web.i18n import choose_language
from dispatcher.web.routes.archive_frame import framed_web_version
from dispatcher.web.routes.public_common import newsletter_of
from dispatcher.web.state import DbSession, EditionNumber, State
from dispatcher.web.templating import render, signup_url
from subscribers.models import MailingList
from subscribers.service import get_list

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_ENTRIES = 20  # the newest editions in the feed
ARCHIVE_PAGE = 52  # a year of a weekly on each page of the archive
HELP_PATH = "/gestione-iscrizione"
# The stored HTML was compiled by the office: no script, only its own styles and pictures.
WEB_VERSION_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self' https: data:; "
    "style-src 'unsafe-inline'; font-src https:; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)
ET.register_namespace("", ATOM)  # the feed's elements unprefixed, as feed readers expect


@router.get("/archive/{slug}")
def archive_page(
    request: Request,
    slug: str,
    session: DbSession,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    mailing_list = _newsletter(session, slug)
    language = choose_language(request)
    rows = published_editions(session, mailing_list.id, limit=ARCHIVE_PAGE + 1, before=before)
    editions = [
        {"number": row.number, "subject": row.subject, "date": _date(row.issue_date, language)}
        for row in rows[:ARCHIVE_PAGE]
    ]
    here = f"/archive/{quote(slug)}"
    context = {
        "newsletter": mailing_list,
        "editions": editions,
        "older_url": f"{here}?before={rows[-2].number}" if len(rows) > ARCHIVE_PAGE else None,
        "newest_url": here if before else None,
    }
    return render(request, "archive/index.html", context)


@router.get("/archive/{slug}/feed.atom")
def archive_feed(slug: str, session: DbSession, state: State) -> Response:
    mailing_list = _newsletter(session, slug)
    rows = published_editions(session, mailing_list.id, limit=FEED_ENTRIES)
    body = atom_feed(mailing_list, rows, state.settings.public_url)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/archive/{slug}/{number}")
def web_version(
    request: Request, slug: str, number: EditionNumber, session: DbSession, state: State
) -> Response:
    mailing_list = _newsletter(session, slug)
    html = published_html(session, mailing_list.id, number)
    if newsletter_settings(mailing_list).reach:
        count_view(session, mailing_list.id, number)
    public_url = state.settings.public_url
    language = choose_language(request)
    page = framed_web_version(
        public_copy(html, public_url + HELP_PATH),
        language=language,
        name=mailing_list.name,
        archive_url=f"/archive/{quote(slug)}",
        signup_url=signup_url(slug, language),
        self_url=f"{public_url}/archive/{slug}/{number}",
    )
    return HTMLResponse(page, headers=WEB_VERSION_HEADERS)


def public_copy(html: str, help_url: str) -> str:
    """An edition's HTML without per-recipient slots: personal links lead to ``help_url``."""
    for slot, path in (
        (Slot.UNSUBSCRIBE_TOKEN, unsubscribe_path),
        (Slot.PREFERENCES_TOKEN, preferences_path),
    ):
        # The whole address, whatever public URL it was compiled with.
        html = re.sub(r"[^\"'\s<>]*" + re.escape(path(slot.sentinel)), help_url, html)
    return re.sub(re.escape(SENTINEL_PREFIX) + r"\w*", "", html)


def atom_feed(
    mailing_list: MailingList, rows: Sequence[PublishedEdition], public_url: str
) -> bytes:
    """The Atom (RFC 4287) document of a newsletter's newest editions."""
    archive_url = f"{public_url}/archive/{mailing_list.slug}"
    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: newsletter_of(mailing_list).language})
    _text(feed, "id", archive_url)
    _text(feed, "title", mailing_list.name)
    updated = max((_entry_updated(row) for row in rows), default=_utc(mailing_list.created_at))
    _text(feed, "updated", updated.isoformat())
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", newsletter_of(mailing_list).from_name)
    _link(feed, f"{archive_url}/feed.atom", "self", "application/atom+xml")
    _link(feed, archive_url, "alternate", "text/html")
    for row in rows:
        _entry(feed, row, archive_url)
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def _entry(feed: ET.Element, row: PublishedEdition, archive_url: str) -> None:
    url = f"{archive_url}/{row.number}"
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", url)
    _text(entry, "title", row.subject)
    _link(entry, url, "alternate", "text/html")
    _text(entry, "published", _utc(row.published).isoformat())
    _text(entry, "updated", _entry_updated(row).isoformat())
    if row.preheader:
        _text(entry, "summary", row.preheader)


def _entry_updated(row: PublishedEdition) -> dt.datetime:
    # A correction made after the edition went out moves its "updated", not "published".
    return max(_utc(row.published), _utc(row.updated_at))


def _text(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{name}").text = value


def _link(parent: ET.Element, href: str, rel: str, media_type: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel, "type": media_type})


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes; the database keeps UTC.
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).replace(microsecond=0)


def _date(day: dt.date, language: str) -> str:
    if language == "it":
        return italian_date(day)
    weekday, month = calendar.day_name[day.weekday()], calendar.month_name[day.month]
    return f"{weekday} {day.day} {month} {day.year}"


def _newsletter(session: Session, slug: str) -> MailingList:
    """:raises UnknownListError, NotFoundError: no such list, or not a newsletter (404)"""
    mailing_list = get_list(session, slug)
    if not mailing_list.settings:
        raise NotFoundError(f"list {slug!r} is not a newsletter")
    return mailing_list


def install(app: FastAPI) -> None:
    """Add the archive pages to ``app``."""
    app.include_router(router)
