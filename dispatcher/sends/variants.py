"""A send's variants: which one each ledger row gets, and each compiled once.

When a send starts, :func:`assign_variants` writes into every ledger row the key of the
variant its person gets (their language and sections, see
:mod:`dispatcher.editions.variants`), in one UPDATE built from the few distinct
(language, sections) pairs of the audience. An edition with neither sections nor
English texts is left alone: its rows keep NULL, the edition as stored.

:func:`compiled_variants` gives a worker the compiled output of each variant its send
needs, compiling the ones missing under a lock on the edition's row: whichever worker
comes first compiles a variant, once for every send of the edition; the others read it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from dispatcher.editions.model import Edition as EditionContent
from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.editions.variants import ITALIAN, edition_variant, language_of, variant_key
from dispatcher.models import Delivery, Edition, EditionVariant
from dispatcher.render import EditionLinks, compile_edition
from subscribers.models import Subscriber


@dataclass(frozen=True)
class Compiled:
    """One variant's compiled output (the whole Italian edition is the edition's own)."""

    key: str
    subject: str
    html: str
    text: str
    compiled_hash: str


def content_of(edition: Edition) -> EditionContent:
    """The stored edition's content."""
    return EditionContent.from_dict(edition.content)


def has_variants(content: EditionContent) -> bool:
    """Whether anyone may get another edition than the whole Italian one."""
    return bool(content.sections) or content.has_english


def _sections_text() -> ColumnElement[str]:
    # The JSON list as text, on PostgreSQL and SQLite alike (equal lists, equal text:
    # every writer stores them sorted through the same serialiser).
    found: ColumnElement[str] = Subscriber.attributes["sections"].as_string()
    return found


def assign_variants(session: Session, send_id: int, edition: Edition) -> list[str]:
    """Write the variant key into each of the send's ledger rows.

    Rows are left NULL (the whole edition in Italian) when the edition has no variants,
    or when everyone gets that one: the ledger is not written twice for nothing.

    :returns: the variant keys of the send's audience
    """
    content = content_of(edition)
    if not has_variants(content):
        return []
    sections = _sections_text()
    counted = session.execute(
        select(Subscriber.language, sections.label("chosen"))
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.send_id == send_id)
        .group_by(Subscriber.language, sections)
    ).all()
    by_key: dict[str, list[ColumnElement[bool]]] = defaultdict(list)
    for language, chosen in counted:
        key = variant_key(content, language, _chosen(chosen))
        same = sections.is_(None) if chosen is None else sections == chosen
        by_key[key].append(and_(Subscriber.language == language, same))
    if set(by_key) <= {ITALIAN}:
        return sorted(by_key)
    whens = [(or_(*conditions), literal(key)) for key, conditions in sorted(by_key.items())]
    chosen_key = (
        select(case(*whens, else_=literal(ITALIAN)))
        .where(Subscriber.id == Delivery.subscriber_id)
        .scalar_subquery()
    )
    session.execute(
        update(Delivery).where(Delivery.send_id == send_id).values(variant=chosen_key),
        execution_options={"synchronize_session": False},
    )
    return sorted(by_key)


def _chosen(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def compile_variant(
    content: EditionContent, key: str, newsletter: NewsletterSettings, links: EditionLinks
) -> Compiled:
    """Compile the variant ``key`` of an edition (pure but for the templates)."""
    compiled = compile_edition(
        edition_variant(content, key), newsletter, links, language=language_of(key)
    )
    return Compiled(key, compiled.subject, compiled.html, compiled.text, compiled.compiled_hash)


def compiled_variants(
    session: Session,
    edition: Edition,
    keys: Iterable[str],
    newsletter: NewsletterSettings,
    links: EditionLinks,
) -> dict[str, Compiled]:
    """The compiled output of each variant in ``keys``, compiling the missing ones once.

    When one is missing, the lock on the edition's row makes other workers wait for the
    first one's commit, then read what it compiled.
    """
    wanted = set(keys) - {ITALIAN}
    found = {ITALIAN: Compiled(ITALIAN, edition.subject, edition.html, edition.text, "")}
    found |= _stored(session, edition.id, wanted)
    if not wanted - set(found):
        return found  # the common case after the first worker: no lock taken
    session.execute(select(Edition.id).where(Edition.id == edition.id).with_for_update())
    found |= _stored(session, edition.id, wanted - set(found))
    content = content_of(edition)
    for key in sorted(wanted - set(found)):
        found[key] = compiled = compile_variant(content, key, newsletter, links)
        session.add(_row(edition.id, compiled))
    session.flush()
    return found


def _stored(session: Session, edition_id: int, keys: set[str]) -> dict[str, Compiled]:
    if not keys:
        return {}
    rows = session.scalars(
        select(EditionVariant).where(
            EditionVariant.edition_id == edition_id, EditionVariant.key.in_(keys)
        )
    )
    return {r.key: Compiled(r.key, r.subject, r.html, r.text, r.compiled_hash) for r in rows}


def store_variant(session: Session, edition_id: int, compiled: Compiled) -> None:
    """Keep a variant compiled when the edition is stored (its English whole)."""
    session.add(_row(edition_id, compiled))


def forget_variants(session: Session, edition_id: int) -> None:
    """Drop an edition's compiled variants: its content or settings changed."""
    session.execute(delete(EditionVariant).where(EditionVariant.edition_id == edition_id))


def stored_variants(session: Session, edition_id: int) -> list[EditionVariant]:
    """An edition's compiled variants, by key."""
    query = select(EditionVariant).where(EditionVariant.edition_id == edition_id)
    return list(session.scalars(query.order_by(EditionVariant.key)))


def whole_variants(session: Session, edition_id: int) -> list[Compiled]:
    """An edition's variants compiled when it was stored: the whole of it in English."""
    return [
        Compiled(row.key, row.subject, row.html, row.text, row.compiled_hash)
        for row in stored_variants(session, edition_id)
        if ":" not in row.key
    ]


def send_variant_keys(session: Session, send_id: int) -> list[str]:
    """The variant keys a send's ledger names."""
    query = select(Delivery.variant).where(Delivery.send_id == send_id).distinct()
    return sorted({key or ITALIAN for key in session.scalars(query)})


def _row(edition_id: int, compiled: Compiled) -> EditionVariant:
    return EditionVariant(
        edition_id=edition_id,
        key=compiled.key,
        subject=compiled.subject,
        html=compiled.html,
        text=compiled.text,
        compiled_hash=compiled.compiled_hash,
    )
