"""Sections and English texts in edition files, and the variants they make (issue 14)."""

from __future__ import annotations

import dataclasses

import pytest

from dispatcher.editions import NewsletterSettings, parse_edition
from dispatcher.editions.newsletter import load_newsletter_settings
from dispatcher.editions.variants import edition_variant, key_parts, variant_key
from dispatcher.errors import EditionFileError
from dispatcher.render import EditionLinks, compile_edition
from tests.support.data import NEWSLETTER_FILE
from tests.unit.test_editions import PATH, VALID, assert_located, change

SECTIONS = ("ambiente", "lavoro")
WITH_SECTIONS = (
    change("## Secondo articolo\n", "## Secondo articolo\nsezione: lavoro\n").replace(
        "---\n\n## Primo",
        "en:\n  subject: Weekly subject\n  highlights:\n    - title: First\n---\n\n## Primo",
    )
    + "\n## [en] Second article\n\nMore text.\n\nm.fa.\n"
)


def located(text: str, sections: tuple[str, ...] | None = SECTIONS) -> EditionFileError:
    with pytest.raises(EditionFileError) as caught:
        parse_edition(text, PATH, sections=sections)
    return caught.value


def test_an_article_names_its_section_on_the_line_under_its_title() -> None:
    edition = parse_edition(WITH_SECTIONS, PATH, sections=SECTIONS)
    first, second = edition.articles
    assert (first.section, second.section) == (None, "lavoro")
    assert second.body == "Altro testo."  # the section line is not text
    assert (second.title_en, second.body_en) == ("Second article", "More text.")
    assert edition.en is not None and edition.en.subject == "Weekly subject"
    assert edition.sections == ("lavoro",) and edition.has_english
    assert type(edition).from_dict(edition.to_dict()) == edition


def test_an_unknown_section_is_refused_with_the_file_and_its_line() -> None:
    text = change("## Secondo articolo\n", "## Secondo articolo\nsezione: sport\n")
    error = located(text)
    assert_located(error, 27, "body", 'unknown section "sport"')
    assert "ambiente, lavoro" in error.problem
    # A newsletter without sections knows none.
    assert_located(located(text, ()), 27, "body", 'unknown section "sport"')
    # Not checked when the newsletter is not known yet.
    assert parse_edition(text, PATH).articles[1].section == "sport"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("## Secondo articolo\n", "## Secondo articolo\nSezione: Lavoro Ufficio\n", 27, "slug"),
        ("## Primo articolo", "## [en] Primo articolo", 20, "must follow its Italian"),
        ("## Secondo articolo", "## [en] Second\nsection: lavoro\n", 26, "takes that article"),
        ("## Secondo articolo", "## [en] Second\n\nx\n\na.b.\n\n## [en] Again", 32, "one per"),
    ],
)
def test_section_and_english_mistakes_are_located(
    old: str, new: str, line: int, words: str
) -> None:
    assert_located(located(change(old, new)), line, "body", words)


def test_english_highlights_cannot_outnumber_the_highlights() -> None:
    text = VALID.replace(
        "---\n\n## Primo",
        "en:\n  highlights:\n    - title: A\n    - title: B\n    - title: C\n---\n\n## Primo",
    )
    assert_located(located(text), 19, "en.highlights", "has 3 items but the edition has 2")


def test_english_alt_text_needs_a_picture() -> None:
    text = VALID.replace(
        "---\n\n## Primo",
        "en:\n  highlights:\n    - title: A\n    - title: B\n      image_alt: x\n---\n\n## Primo",
    )
    assert_located(located(text), 22, "en.highlights[2].image_alt", "has no image")


def test_each_reader_gets_a_key_and_equal_readers_share_it() -> None:
    edition = parse_edition(WITH_SECTIONS, PATH, sections=SECTIONS)
    assert variant_key(edition, "it", []) == "it"
    assert variant_key(edition, "en", ["lavoro"]) == "en"  # every section the edition has
    assert variant_key(edition, "en", ["ambiente"]) == "en:-"
    assert variant_key(edition, "de", ["ambiente", "lavoro", "x"]) == "it"
    no_english = dataclasses.replace(edition, en=None, articles=edition.articles[:1])
    assert variant_key(no_english, "en", ["ambiente"]) == "it"
    assert key_parts("it:a+b") == ("it", frozenset({"a", "b"}))
    assert key_parts("en") == ("en", None)


def test_a_variant_holds_its_articles_in_its_language() -> None:
    edition = parse_edition(WITH_SECTIONS, PATH, sections=SECTIONS)
    english = edition_variant(edition, "en")
    assert english.subject == "Weekly subject" and english.preheader == edition.preheader
    assert [h.title for h in english.highlights] == ["First", "Secondo"]
    assert [a.title for a in english.articles] == ["Primo articolo", "Second article"]
    assert [a.title for a in edition_variant(edition, "it:-").articles] == ["Primo articolo"]


def test_the_fixed_words_and_the_date_follow_the_language() -> None:
    edition = parse_edition(WITH_SECTIONS, PATH, sections=SECTIONS)
    settings: NewsletterSettings = load_newsletter_settings(NEWSLETTER_FILE)
    links = EditionLinks.for_edition("https://news.example.org", "cronache", 44)
    english = compile_edition(edition_variant(edition, "en"), settings, links, language="en")
    italian = compile_edition(edition, settings, links)
    assert "Friday 6 December 2024" in english.text and "Unsubscribe <" in english.text
    assert 'lang="en"' in english.html and "HIGHLIGHTS" in english.text
    assert "venerdì 6 dicembre 2024" in italian.text and "Annulla l'iscrizione <" in italian.text
    assert "Unsubscribe" not in italian.text


def test_newsletter_sections_come_from_the_settings() -> None:
    settings = load_newsletter_settings(NEWSLETTER_FILE)
    assert settings.section_slugs[:2] == ("ambiente", "cultura")
    assert settings.sections[0].label("en") == "Environment"
    assert NewsletterSettings.from_dict(settings.to_dict()) == settings
    data = settings.to_dict()
    data["sections"] = [*data["sections"], {"slug": "ambiente", "name": "X", "name_en": "X"}]
    with pytest.raises(EditionFileError, match="another section"):
        NewsletterSettings.from_dict(data)
    # Settings without sections store (and hash) as they did before sections existed.
    assert "sections" not in dataclasses.replace(settings, sections=()).to_dict()
