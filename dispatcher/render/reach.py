"""Reach without tracking: an edition's own links, and the redirect addresses that count them.

When a newsletter has ``reach = true``, each web link of an edition (the cover's, the
highlights' and those in the articles) is written in the email as
``PUBLIC_URL/r/<newsletter>/<number>/<key>``: the same address for every reader, so the
edition is still compiled once and the address says nothing of who clicked. The key is
derived from the link itself (:func:`link_key`), not from its place, so an edition
compiled with only some of its articles (a variant for some sections) keeps the same
keys; the redirect looks the key up among :func:`edition_links` of the stored content,
so only the edition's own links can be reached through it (no open redirect).
The unsubscribe, preferences and web-version links are never rewritten.

Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping

from dispatcher.editions.checks import WEB_SCHEMES
from dispatcher.editions.model import Edition
from dispatcher.render.markdown import all_tokens, parse_markdown

REDIRECT_PATH = "/r"
KEY_LENGTH = 12  # hex digits: 48 bits, ample to tell one edition's links apart


def redirect_base(public_url: str, newsletter_slug: str, number: int) -> str:
    """The address an edition's counted links start with; the link's index follows it."""
    return f"{public_url.rstrip('/')}{REDIRECT_PATH}/{newsletter_slug}/{number}"


def link_key(link: str) -> str:
    """The part of a counted address that names ``link``: the start of its SHA-256."""
    return hashlib.sha256(link.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def edition_links(edition: Edition) -> tuple[str, ...]:
    """The edition's web links in order of appearance, each once.

    :param edition: the edition
    :returns: the cover's link, the highlights' links, then the articles' http(s) links
    """
    return tuple(dict.fromkeys(_links(edition)))


def redirects(edition: Edition, base: str) -> dict[str, str]:
    """``link -> counted address`` for every link of :func:`edition_links`."""
    return {link: f"{base}/{link_key(link)}" for link in edition_links(edition)}


def with_redirects(edition: Edition, links: Mapping[str, str]) -> Edition:
    """The edition with its cover and highlight links replaced by their counted addresses.

    The articles' links are replaced as their Markdown is rendered (see
    :func:`dispatcher.render.markdown.redirect_links`).
    """
    cover = dataclasses.replace(edition.cover, link=links[edition.cover.link])
    highlights = tuple(
        item if item.link is None else dataclasses.replace(item, link=links[item.link])
        for item in edition.highlights
    )
    return dataclasses.replace(edition, cover=cover, highlights=highlights)


def _links(edition: Edition) -> Iterator[str]:
    yield edition.cover.link
    yield from (item.link for item in edition.highlights if item.link is not None)
    for article in edition.articles:
        for token in all_tokens(parse_markdown(article.body)):
            href = str(token.attrGet("href") or "") if token.type == "link_open" else ""
            if href.partition(":")[0].lower() in WEB_SCHEMES:
                yield href
