"""The edition form and the edition file, both ways: what is typed is what the parser reads.

The form writes an edition file (:func:`write_source`); the existing parser must read it
back to the same values (:func:`draft_of`), whatever the office types: accents, emoji,
YAML's own punctuation in a subject, empty highlight rows, Windows line ends.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.editions.parse import parse_edition
from dispatcher.errors import EditionFileError
from dispatcher.web.routes.admin.editor_draft import (
    EditionDraft,
    draft_from_form,
    draft_of,
    form_problems,
    mismatch,
    write_source,
)
from dispatcher.web.routes.admin.editor_problems import explain, field_error
from dispatcher.web.routes.admin.editor_start import subject_start
from tests.support.data import EDITION_FILE

EXAMPLE = parse_edition(EDITION_FILE.read_text(encoding="utf-8"), "example.md")

FORM = {
    "newsletter": "cronache",
    "number": " 45 ",
    "date": "2024-12-13",
    "subject": "Cronache n. 45: il bilancio: approvato # subito — «sì» 🎉",
    "preheader": "yes",
    "cover.title": "- NON È UN ELENCO: è un titolo",
    "cover.image": "https://example.org/a.jpg?x=1&y=2#frammento",
    "cover.image_alt": "'Virgolette' \"doppie\" e % @ ` |",
    "cover.link": "https://example.org/a",
    "cover.caption": "  una  didascalia\r\n su due righe ",
    "cover.summary": "",
    "highlights[1].title": "null",
    "highlights[1].link": "",
    "highlights[2].title": "",  # an empty row: dropped
    "highlights[2].summary": "   ",
    "highlights[3].title": "~",
    "highlights[3].image": "https://example.org/h.png",
    "highlights[3].image_alt": "{graffe} [quadre] &ancora *stella !punto",
    "articles[1].title": "Perché: l'articolo #1",
    "articles[1].body": "\r\n\r\nRiga con spazi finali  \r\n> citazione: sì\r\n\r\n"
    "```\ncodice: # non commento\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n",
    "articles[1].initials": " a.r.a. ",
    "articles[4].title": "Secondo 😀",
    "articles[4].body": "Testo *corsivo*.",
    "articles[4].initials": "m.fa./g.b.",
}


def round_trip(draft: EditionDraft) -> EditionDraft:
    assert form_problems(draft) == []
    parsed = parse_edition(write_source(draft).text, "edizione.md")
    assert mismatch(draft, parsed) is None
    return draft_of(parsed)


def without_keys(draft: EditionDraft) -> EditionDraft:
    """The draft with its rows numbered 1, 2, 3 as a parsed edition numbers them."""
    return dataclasses.replace(
        draft,
        highlights=tuple(dataclasses.replace(h, key=i) for i, h in enumerate(draft.highlights, 1)),
        articles=tuple(dataclasses.replace(a, key=i) for i, a in enumerate(draft.articles, 1)),
    )


def test_the_example_edition_survives_the_form() -> None:
    draft = draft_of(EXAMPLE)
    assert parse_edition(write_source(draft).text, "x.md") == EXAMPLE


def test_dirty_form_values_come_back_as_typed() -> None:
    draft = draft_from_form(FORM)
    back = round_trip(draft)
    assert back == without_keys(draft)
    assert back.subject == "Cronache n. 45: il bilancio: approvato # subito — «sì» 🎉"
    assert back.preheader == "yes" and back.number == "45"
    assert back.cover["caption"] == "una didascalia su due righe"
    assert [h.title for h in back.highlights] == ["null", "~"]
    assert back.articles[0].body.startswith("Riga con spazi finali  \n> citazione")
    assert back.articles[1].initials == "m.fa./g.b."


def test_no_highlights_at_all() -> None:
    form = {k: v for k, v in FORM.items() if not k.startswith("highlights")}
    parsed = parse_edition(write_source(draft_from_form(form)).text, "x.md")
    assert parsed.highlights == ()


def test_errors_are_located_at_the_form_field() -> None:
    draft = draft_from_form({**FORM, "highlights[3].image_alt": ""})
    written = write_source(draft)
    with pytest.raises(EditionFileError) as raised:
        parse_edition(written.text, "x.md")
    error = field_error(raised.value, draft, written)
    # The parser's second item is the form's row 3 (row 2 was empty and dropped).
    assert (error.name, error.problem) == ("highlights[3].image_alt", "editor.p.no_alt")


def test_an_article_error_names_the_line_in_its_text() -> None:
    body = "Prima riga.\n\nTerza riga: ![](https://example.org/x.jpg)"
    draft = draft_from_form({**FORM, "articles[4].body": body})
    written = write_source(draft)
    with pytest.raises(EditionFileError) as raised:
        parse_edition(written.text, "x.md")
    error = field_error(raised.value, draft, written)
    assert (error.name, error.line, error.problem) == (
        "articles[4].body",
        3,
        "editor.p.picture_alt",
    )


@pytest.mark.parametrize(
    ("change", "name", "problem"),
    [
        ({"subject": "due\nrighe"}, "subject", "editor.one_line"),
        ({"cover.title": "riga\u2028separata"}, "cover.title", "editor.one_line"),
        ({"articles[4].initials": ""}, "articles[4].initials", "editor.no_initials"),
        ({"articles[4].body": "Testo\n\n## Un altro titolo"}, "articles[4].body", "editor.heading"),
        ({"articles[4].body": "Titolo\n---\nè un titolo"}, "articles[4].body", "editor.heading"),
    ],
)
def test_what_the_file_would_misplace_is_refused_at_the_field(
    change: dict[str, str], name: str, problem: str
) -> None:
    found = form_problems(draft_from_form({**FORM, **change}))
    assert [(e.name, e.problem) for e in found] == [(name, problem)]


def test_a_code_block_left_open_would_swallow_the_next_article() -> None:
    draft = draft_from_form({**FORM, "articles[1].body": "```\ncodice senza fine"})
    parsed = parse_edition(write_source(draft).text, "x.md")
    found = mismatch(draft, parsed)
    assert found is not None and found.name == "articles[1].body"


def test_the_parsers_words_are_said_in_italian() -> None:
    assert explain("is empty") == ("editor.p.empty", {})
    assert explain('the article title "x" must start with https:// or http://')[0] == (
        "editor.p.scheme"
    )
    assert explain("something new")[0] == "editor.p.other"


# One-line text as people paste it: any printable character, YAML punctuation included.
LINE = (
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff"),
        min_size=1,
        max_size=60,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=200, deadline=None)
@given(subject=LINE, preheader=LINE, title=LINE, highlight=LINE)
def test_any_one_line_text_survives_the_round_trip(
    subject: str, preheader: str, title: str, highlight: str
) -> None:
    form = {
        **FORM,
        "subject": subject,
        "preheader": preheader,
        "cover.title": title,
        "highlights[1].title": highlight,
    }
    draft = draft_from_form(form)
    if form_problems(draft):
        return  # a character the form refuses at its field (tested above)
    written = write_source(draft)
    try:
        parsed = parse_edition(written.text, "x.md")
    except EditionFileError as exc:
        # Refused by the parser's own rules (the slot marker): then at the field typed.
        assert field_error(exc, draft, written).name in {
            "subject",
            "preheader",
            "cover.title",
            "highlights[1].title",
        }
        return
    assert draft_of(parsed) == without_keys(draft)


@pytest.mark.parametrize(
    ("subject", "start"),
    [
        (
            "Cronache da Palazzo Cisterna n. 44: verso il Piano",
            "Cronache da Palazzo Cisterna n. 45: ",
        ),
        ("Cronache n.44 — il Natale", "Cronache n.45 — "),
        ("Numero 44", "Numero 45"),
        ("Le 144 notizie della settimana", ""),  # 44 inside another number is not the number
        ("Senza numero: è così", ""),
    ],
)
def test_the_next_subject_keeps_its_fixed_part(subject: str, start: str) -> None:
    assert subject_start(subject, 44, 45) == start
