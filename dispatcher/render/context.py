"""The values both email templates see: the edition, the newsletter, links and ready articles.

Everything an editor wrote reaches the templates as data, never as template source, so
``{{ 7*7 }}`` in an edition stays as written. Articles arrive already rendered twice,
as an HTML fragment (marked safe: markdown-it has escaped the editor's text) and as
wrapped plain text.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from dispatcher.editions.checks import IMAGE_SCHEMES, WEB_SCHEMES, url_problem
from dispatcher.editions.model import Article, Edition
from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.errors import ContentError
from dispatcher.message.slots import SENTINEL_PREFIX, Slot, preferences_path, unsubscribe_path
from dispatcher.render.mail_texts import date_words, mail_texts
from dispatcher.render.markdown import markdown_to_html
from dispatcher.render.reach import redirect_base, redirects, with_redirects
from dispatcher.render.text import markdown_to_text


@dataclass(frozen=True)
class EditionLinks:
    """The addresses an edition links to besides its content.

    The unsubscribe and preferences addresses hold slot sentinels, filled per recipient
    when each message is built; the web version is the same for everyone.
    """

    web_version_url: str
    unsubscribe_url: str
    preferences_url: str
    # Where reach's counted links start (see dispatcher.render.reach); used only when the
    # newsletter has reach on.
    redirect_base: str = ""

    @classmethod
    def for_edition(cls, public_url: str, newsletter_slug: str, number: int) -> EditionLinks:
        """The links of edition ``number`` of a newsletter served at ``public_url``.

        :param public_url: the public site's base address, e.g. ``https://news.example.org``
        :param newsletter_slug: the newsletter's slug
        :param number: the edition's number
        :returns: the links, with per-recipient sentinels left open
        """
        base = public_url.rstrip("/")
        return cls(
            web_version_url=f"{base}/archive/{newsletter_slug}/{number}",
            unsubscribe_url=base + unsubscribe_path(Slot.UNSUBSCRIBE_TOKEN.sentinel),
            preferences_url=base + preferences_path(Slot.PREFERENCES_TOKEN.sentinel),
            redirect_base=redirect_base(base, newsletter_slug, number),
        )


@dataclass(frozen=True)
class ArticleView:
    """An article as the templates show it."""

    title: str
    html: Markup
    text: str
    initials: str


def italian_date(day: datetime.date) -> str:
    """Write a date the way the edition's readers do, e.g. "venerdì 6 dicembre 2024".

    :param day: the date
    :returns: the date in Italian words, without relying on the machine's locale
    """
    return date_words(day, "it")


def template_context(
    edition: Edition, newsletter: NewsletterSettings, links: EditionLinks, language: str = "it"
) -> dict[str, Any]:
    """Build the values the HTML and text templates are rendered with.

    :param edition: the edition
    :param newsletter: the newsletter it belongs to
    :param links: the edition's links
    :param language: the language of the mail's fixed words (footer, links, date)
    :returns: the template context
    :raises ContentError: when the edition is for another newsletter, a picture or link
        address is not allowed, or the text holds the dispatcher's reserved slot marker
    """
    _check_edition(edition, newsletter)
    if newsletter.reach and not links.redirect_base:
        raise ContentError(f"{newsletter.slug} counts its reach but the links have no redirect")
    counted = redirects(edition, links.redirect_base) if newsletter.reach else {}
    return {
        "edition": with_redirects(edition, counted) if counted else edition,
        "newsletter": newsletter,
        "colours": newsletter.colours,
        "links": links,
        "date_label": date_words(edition.date, language),
        "language": newsletter.language if language == "it" else language,
        "words": mail_texts(language),
        "articles": [_article_view(item, newsletter, counted) for item in edition.articles],
    }


def _article_view(
    article: Article, newsletter: NewsletterSettings, counted: dict[str, str]
) -> ArticleView:
    colours = newsletter.colours
    html = markdown_to_html(article.body, link=colours.link, primary=colours.primary, links=counted)
    text = markdown_to_text(article.body, links=counted)
    # Entities such as &#79; could spell the slot marker only after Markdown decoded them.
    if SENTINEL_PREFIX in html or SENTINEL_PREFIX in text:
        raise ContentError(f'article "{article.title}" contains the reserved slot marker')
    # markdown-it (raw HTML off) has escaped the editor's text: the fragment is ours.
    return ArticleView(article.title, Markup(html), text, article.initials)  # nosec B704


def _check_edition(edition: Edition, newsletter: NewsletterSettings) -> None:
    # Editions normally come checked from the parser; these guards cover stored or
    # hand-built ones, since a bad address here would reach every subscriber.
    if edition.newsletter != newsletter.slug:
        raise ContentError(
            f'edition {edition.number} is for newsletter "{edition.newsletter}", '
            f'not "{newsletter.slug}"'
        )
    if SENTINEL_PREFIX in json.dumps(edition.to_dict(), ensure_ascii=False):
        raise ContentError(f"edition {edition.number} contains the reserved slot marker")
    addresses: list[tuple[str | None, tuple[str, ...]]] = [
        (edition.cover.image, IMAGE_SCHEMES),
        (edition.cover.link, WEB_SCHEMES),
    ]
    for item in edition.highlights:
        addresses += [(item.image, IMAGE_SCHEMES), (item.link, WEB_SCHEMES)]
    for url, schemes in addresses:
        problem = None if url is None else url_problem(url, schemes)
        if problem:
            raise ContentError(f"edition {edition.number}: {problem}")
