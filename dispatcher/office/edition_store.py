"""Storing editions: parse the file, compile it once, keep source, content and output."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.db import get_row
from dispatcher.editions.model import Edition as EditionContent
from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.editions.parse import parse_edition
from dispatcher.editions.variants import ENGLISH
from dispatcher.errors import ContentError, EditionFileError, NotFoundError, StateError
from dispatcher.models import Edition
from dispatcher.render import CompiledEdition, EditionLinks, compile_edition
from dispatcher.sends import variants
from dispatcher.sends.variants import Compiled
from subscribers.models import MailingList
from subscribers.orm import utcnow


def read_source(path: Path) -> str:
    """The text of an edition file.

    :raises EditionFileError: naming the file if it is missing or not UTF-8
    """
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise EditionFileError(str(path), None, None, "no such file") from exc
    except UnicodeDecodeError as exc:
        raise EditionFileError(str(path), None, None, "is not UTF-8 text") from exc
    except OSError as exc:
        raise EditionFileError(str(path), None, None, f"cannot be read: {exc}") from exc


def add_edition(session: Session, source: str, source_name: str, settings: Settings) -> Edition:
    """Parse, compile and store a new edition.

    :raises EditionFileError: when the file is wrong (names file, line and field)
    :raises NotFoundError: when no list has the edition's newsletter slug
    :raises StateError: when the newsletter already has an edition with this number
    """
    content = parse_edition(source, source_name)
    mailing_list = _newsletter_list(session, content, source_name)
    content = _with_known_sections(content, source, source_name, mailing_list)
    taken = session.scalar(
        select(Edition.id).where(
            Edition.list_id == mailing_list.id, Edition.number == content.number
        )
    )
    if taken is not None:
        raise StateError(
            f"{source_name}: {mailing_list.slug} already has edition number {content.number} "
            f"(id {taken}); use 'dispatcher editions update {taken} FILE' to change it"
        ).coded("edition.number_taken", newsletter=mailing_list.slug, number=content.number)
    edition = Edition(list_id=mailing_list.id, number=content.number, source_name=source_name)
    english = _fill(edition, content, source, mailing_list, settings)
    session.add(edition)
    session.flush()
    _keep_variants(session, edition.id, english)
    return edition


def update_edition(
    session: Session, edition_id: int, source: str, source_name: str, settings: Settings
) -> Edition:
    """Replace an edition's file; it is parsed and compiled again.

    :raises NotFoundError: if the edition does not exist
    :raises EditionFileError: when the new file is wrong
    """
    edition = get_edition(session, edition_id)
    content = parse_edition(source, source_name)
    mailing_list = _newsletter_list(session, content, source_name)
    if mailing_list.id != edition.list_id:
        raise StateError(f"{source_name}: an edition cannot move to another newsletter").coded(
            "edition.other_newsletter"
        )
    content = _with_known_sections(content, source, source_name, mailing_list)
    edition.number, edition.source_name = content.number, source_name
    english = _fill(edition, content, source, mailing_list, settings)
    edition.updated_at = utcnow()
    session.flush()
    _keep_variants(session, edition.id, english)
    return edition


def get_edition(session: Session, edition_id: int) -> Edition:
    """:raises NotFoundError: if there is no edition with this id"""
    return get_row(session, Edition, edition_id, "edition")


def recent_editions(
    session: Session, limit: int, list_slug: str | None = None, before: int | None = None
) -> list[tuple[Edition, str]]:
    """The ``limit`` editions stored last, newest first, each with its newsletter's slug.

    :param list_slug: only the editions of this newsletter
    :param before: only editions stored before this one (the next page's start)
    """
    query = select(Edition, MailingList.slug).join(MailingList)
    if before is not None:
        query = query.where(Edition.id < before)
    if list_slug:
        query = query.where(MailingList.slug == list_slug)
    rows = session.execute(query.order_by(Edition.id.desc()).limit(limit))
    return [(edition, slug) for edition, slug in rows]


def editions_of(session: Session, list_id: int) -> list[Edition]:
    """A newsletter's editions, the highest number first."""
    query = select(Edition).where(Edition.list_id == list_id).order_by(Edition.number.desc())
    return list(session.scalars(query))


def subjects_of(session: Session, edition_ids: set[int]) -> dict[int, str]:
    """``edition id -> subject`` for the editions named (unknown ids are left out)."""
    query = select(Edition.id, Edition.subject).where(Edition.id.in_(edition_ids))
    return {edition_id: subject for edition_id, subject in session.execute(query)}


def newsletter_of(session: Session, edition: Edition) -> tuple[MailingList, NewsletterSettings]:
    """The list an edition belongs to and its newsletter settings."""
    mailing_list = session.get_one(MailingList, edition.list_id)
    return mailing_list, newsletter_settings(mailing_list)


def newsletter_settings(mailing_list: MailingList) -> NewsletterSettings:
    """:raises ContentError: if the list has no newsletter settings"""
    if not mailing_list.settings:
        raise ContentError(
            f"list {mailing_list.slug!r} has no newsletter settings: "
            f"dispatcher lists configure {mailing_list.slug} --settings FILE.toml"
        ).coded("newsletter.no_settings", newsletter=mailing_list.slug)
    return NewsletterSettings.from_dict(mailing_list.settings)


def compile_for(
    content: EditionContent, mailing_list: MailingList, settings: Settings
) -> CompiledEdition:
    """Compile an edition's content with its newsletter's settings and the public URL."""
    links = EditionLinks.for_edition(settings.public_url, mailing_list.slug, content.number)
    return compile_edition(content, newsletter_settings(mailing_list), links)


def _with_known_sections(
    content: EditionContent, source: str, source_name: str, mailing_list: MailingList
) -> EditionContent:
    """The edition read again against its newsletter's sections, when it names any.

    :raises EditionFileError: naming the file and the line of an unknown section
    """
    if not content.sections:
        return content
    known = newsletter_settings(mailing_list).section_slugs
    return parse_edition(source, source_name, sections=known)


def _keep_variants(session: Session, edition_id: int, english: Compiled | None) -> None:
    """Forget the variants compiled from the edition's earlier content; keep its English."""
    variants.forget_variants(session, edition_id)
    if english is not None:
        variants.store_variant(session, edition_id, english)
    session.flush()


def _fill(
    edition: Edition,
    content: EditionContent,
    source: str,
    mailing_list: MailingList,
    settings: Settings,
) -> Compiled | None:
    """Compile and keep the edition; :returns: its whole English version, if it has one"""
    compiled = compile_for(content, mailing_list, settings)
    edition.issue_date = content.date
    edition.subject = content.subject
    edition.source = source
    edition.content = content.to_dict()
    edition.content_hash = compiled.content_hash
    edition.html = compiled.html
    edition.text = compiled.text
    edition.compiled_hash = compiled.compiled_hash
    if not content.has_english:
        return None
    links = EditionLinks.for_edition(settings.public_url, mailing_list.slug, content.number)
    newsletter = newsletter_settings(mailing_list)
    return variants.compile_variant(content, ENGLISH, newsletter, links)


def _newsletter_list(session: Session, content: EditionContent, source_name: str) -> MailingList:
    found = session.scalar(select(MailingList).where(MailingList.slug == content.newsletter))
    if found is None:
        raise NotFoundError(
            f"{source_name}: [newsletter] no list with slug {content.newsletter!r}; "
            f"create it with 'dispatcher lists create {content.newsletter} NAME --settings FILE'"
        ).coded("edition.unknown_newsletter", newsletter=content.newsletter)
    return found


def newest_editions(session: Session) -> list[tuple[Edition, MailingList]]:
    """The newest edition (highest number) of each newsletter, by the newsletter's slug."""
    top = (
        select(Edition.list_id, func.max(Edition.number).label("number"))
        .group_by(Edition.list_id)
        .subquery()
    )
    newest = (
        select(Edition, MailingList)
        .join(MailingList, MailingList.id == Edition.list_id)
        .join(top, (top.c.list_id == Edition.list_id) & (top.c.number == Edition.number))
        .order_by(MailingList.slug)
    )
    return [(edition, newsletter) for edition, newsletter in session.execute(newest)]
