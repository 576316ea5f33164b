"""Reach's counted links at compile time: only with ``reach = true``, never the personal links."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from dispatcher.editions import Article, Edition, NewsletterSettings, load_edition
from dispatcher.errors import EditionFileError
from dispatcher.render import EditionLinks, compile_edition
from dispatcher.render.reach import edition_links, link_key

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://notizie.example.org"
BASE = f"{PUBLIC_URL}/r/cronache/44"
ARTICLE_LINK = "https://www.example.org/bando?anno=2025"
BODY = f"Il [bando]({ARTICLE_LINK}) è aperto; scrivete a [noi](mailto:urp@example.org)."


@pytest.fixture(scope="module")
def edition() -> Edition:
    found = load_edition(ROOT / "examples" / "cronache-da-palazzo-cisterna.md")
    extra = Article("Bando", BODY, "a.r.a.")
    return dataclasses.replace(found, articles=(*found.articles, extra))


@pytest.fixture(scope="module")
def links(edition: Edition) -> EditionLinks:
    return EditionLinks.for_edition(PUBLIC_URL, edition.newsletter, edition.number)


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_the_links_are_the_cover_the_highlights_then_the_articles_each_once(
    edition: Edition,
) -> None:
    found = edition_links(edition)
    assert found[0] == edition.cover.link
    assert [item.link for item in edition.highlights if item.link] == list(found[1:4])
    assert found[-1] == ARTICLE_LINK
    assert len(found) == len(set(found))
    assert not any(link.startswith("mailto:") for link in found)


def test_with_reach_every_content_link_goes_through_the_redirect(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    settings = dataclasses.replace(newsletter_settings, reach=True)
    compiled = compile_edition(edition, settings, links)
    own = edition_links(edition)
    for link in own:
        assert f'href="{link}"' not in compiled.html.replace("&amp;", "&")
        assert f"<{link}>" not in compiled.text
    counted = {f"{BASE}/{link_key(link)}" for link in own}
    assert counted <= set(hrefs(compiled.html))
    assert all(url in compiled.text for url in counted)
    # The same address for everyone: no slot, no recipient in the counted links.
    assert all(href.startswith(BASE) for href in hrefs(compiled.html) if "/r/" in href)
    # The personal and web-version links are never rewritten.
    for kept in (links.unsubscribe_url, links.preferences_url, links.web_version_url):
        assert kept in compiled.html and kept in compiled.text
    assert "mailto:urp@example.org" in compiled.html


def test_without_reach_no_link_goes_through_the_redirect(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    assert newsletter_settings.reach is False
    compiled = compile_edition(edition, newsletter_settings, links)
    assert "/r/cronache" not in compiled.html and "/r/cronache" not in compiled.text
    assert edition.cover.link in hrefs(compiled.html)


def test_a_link_keeps_its_address_in_an_edition_with_fewer_articles(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    # A sections variant holds some of the articles: its links must count as the same links.
    settings = dataclasses.replace(newsletter_settings, reach=True)
    variant = dataclasses.replace(edition, articles=edition.articles[-1:])
    html = compile_edition(variant, settings, links).html
    assert f'href="{BASE}/{link_key(ARTICLE_LINK)}"' in html
    assert len({link_key(link) for link in edition_links(edition)}) == len(edition_links(edition))


def test_reach_changes_what_an_approval_binds_to(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    counted = dataclasses.replace(newsletter_settings, reach=True)
    plain = compile_edition(edition, newsletter_settings, links)
    assert compile_edition(edition, counted, links).compiled_hash != plain.compiled_hash


def test_the_setting_must_be_true_or_false(newsletter_settings: NewsletterSettings) -> None:
    data = {**newsletter_settings.to_dict(), "reach": "yes"}
    with pytest.raises(EditionFileError, match="true or false"):
        NewsletterSettings.from_dict(data)
    assert NewsletterSettings.from_dict({**data, "reach": True}).reach is True
