"""Which edition each person gets: a variant per language and choice of sections.

A person whose language is English gets the English texts where the edition has them
(the Italian ones elsewhere); a person who chose sections gets the cover, the
highlights, the articles without a section and the articles of their sections; one
who chose none gets every article. A variant is named by a key:

- ``it``, ``en``: the whole edition in that language;
- ``it:ambiente+lavoro``: the articles of those sections (and those without one);
- ``it:-``: only the articles without a section (the person's sections are not in it).

Pure: an edition in, an edition out; compiling it is :mod:`dispatcher.render`'s job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from dispatcher.editions.model import Article, Edition, Highlight

ITALIAN = "it"
ENGLISH = "en"
NO_SECTION = "-"


def variant_key(edition: Edition, language: str, chosen: Iterable[str]) -> str:
    """The key of the variant a person with ``language`` and ``chosen`` sections gets.

    :param edition: the edition
    :param language: the person's language (anything but ``en`` reads Italian)
    :param chosen: the sections they chose (none: every article)
    :returns: the variant's key; equal for everyone who gets the same edition
    """
    lang = ENGLISH if language == ENGLISH and edition.has_english else ITALIAN
    wanted = set(chosen)
    present = set(edition.sections)
    if not wanted or present <= wanted:
        return lang
    return f"{lang}:{'+'.join(sorted(wanted & present)) or NO_SECTION}"


def key_parts(key: str) -> tuple[str, frozenset[str] | None]:
    """The language and the sections (None: all of them) a key names."""
    language, _, rest = key.partition(":")
    if not rest:
        return language, None
    return language, frozenset() if rest == NO_SECTION else frozenset(rest.split("+"))


def language_of(key: str | None) -> str:
    """The language of variant ``key`` (None: the edition as stored, in Italian)."""
    return key_parts(key)[0] if key else ITALIAN


def edition_variant(edition: Edition, key: str) -> Edition:
    """The edition as the people of variant ``key`` get it.

    :param edition: the whole edition
    :param key: a key made by :func:`variant_key`
    :returns: the edition in the key's language, holding only the key's articles
    """
    language, sections = key_parts(key)
    articles = tuple(
        item
        for item in edition.articles
        if sections is None or item.section is None or item.section in sections
    )
    chosen = dataclasses.replace(edition, articles=articles)
    return _in_english(chosen) if language == ENGLISH else chosen


def _in_english(edition: Edition) -> Edition:
    en = edition.en
    cover, highlights = edition.cover, edition.highlights
    if en is not None:
        cover = dataclasses.replace(cover, **(en.cover or {}))
        texts = list(en.highlights) + [{}] * (len(highlights) - len(en.highlights))
        pairs = zip(highlights, texts, strict=True)
        highlights = tuple(_highlight(item, text) for item, text in pairs)
    return dataclasses.replace(
        edition,
        subject=(en.subject if en else None) or edition.subject,
        preheader=(en.preheader if en else None) or edition.preheader,
        cover=cover,
        highlights=highlights,
        articles=tuple(_article(item) for item in edition.articles),
        en=None,
    )


def _highlight(item: Highlight, texts: dict[str, str]) -> Highlight:
    return dataclasses.replace(item, **texts)


def _article(item: Article) -> Article:
    if item.title_en is None or item.body_en is None:
        return item
    return dataclasses.replace(item, title=item.title_en, body=item.body_en)
