"""Edition files: the example parses, and every kind of mistake is located exactly."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

import dispatcher.editions
from dispatcher.editions import Article, Edition, load_edition, parse_edition
from dispatcher.errors import ContentError, EditionFileError
from tests.support.data import EDITION_HEAD

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cronache-da-palazzo-cisterna.md"
PATH = "editions/prova.md"

# Line numbers matter: the tests below name them.
VALID = (
    EDITION_HEAD
    + """\
highlights:
  - title: Primo
    link: https://example.org/1
    image: https://example.org/1.jpg
    image_alt: Foto uno
  - title: Secondo
---

## Primo articolo

Testo del primo articolo con un [collegamento](https://example.org/x).

a.r.a.

## Secondo articolo

Altro testo.

m.fa.
"""
)

COVER = VALID[VALID.index("cover:") : VALID.index("highlights:")]
HIGHLIGHTS = VALID[VALID.index("highlights:") : VALID.index("---\n\n## Primo")]
ALT = "  image_alt: Una foto"
SECOND = "  - title: Secondo"
FIRST = "\n## Primo articolo"
MORE = "Altro testo."


def fails(text: str) -> EditionFileError:
    with pytest.raises(EditionFileError) as caught:
        parse_edition(text, PATH)
    return caught.value


def assert_located(error: EditionFileError, line: int, field: str | None, words: str) -> None:
    """The error names the file, ``line`` and ``field``, and says ``words``."""
    assert (error.path, error.line, error.field) == (PATH, line, field)
    assert words in error.problem
    where = f"{PATH}:{line}:" + (f" [{field}]" if field else "")
    assert str(error).startswith(where)


def change(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def test_the_example_edition_parses() -> None:
    edition = load_edition(EXAMPLE)
    assert edition.newsletter == "cronache"
    assert edition.date == datetime.date(2024, 12, 6)
    assert edition.cover.title == "IL PANETTONE DEI FUTURI CHEF"
    assert [h.title for h in edition.highlights] == [
        "Arrivata la Fiaccola dei Giochi universitari",
        "I dati dell'Osservatorio Migranti",
        "Natale è reale a Stupinigi",
    ]
    (article,) = edition.articles
    assert article.title == "Verso il Piano metropolitano dell'economia sociale"
    assert article.initials == "a.r.a."
    assert article.body.startswith("Città metropolitana e Camera di commercio")
    assert article.body.endswith("comunicare, cooperare, formare e supportare.")


def test_a_valid_file_gives_its_articles_without_title_or_initials() -> None:
    edition = parse_edition(VALID, PATH)
    assert edition.articles == (
        Article(
            "Primo articolo",
            "Testo del primo articolo con un [collegamento](https://example.org/x).",
            "a.r.a.",
        ),
        Article("Secondo articolo", "Altro testo.", "m.fa."),
    )
    assert edition.highlights[1].image is None and edition.highlights[1].link is None


def test_json_round_trip_is_exact() -> None:
    for edition in (load_edition(EXAMPLE), parse_edition(VALID, PATH)):
        stored = json.loads(json.dumps(edition.to_dict()))
        assert Edition.from_dict(stored) == edition
        assert Edition.from_dict(stored).to_dict() == edition.to_dict()


def test_a_malformed_stored_edition_is_a_content_error() -> None:
    stored = parse_edition(VALID, PATH).to_dict()
    del stored["cover"]["image"]
    with pytest.raises(ContentError):
        Edition.from_dict(stored)


def test_windows_line_ends_and_a_byte_order_mark_keep_line_numbers() -> None:
    text = "\ufeff" + change("date: 2024-12-06", "date: 2024-02-30").replace("\n", "\r\n")
    error = fails(text)
    assert (error.line, error.field) == (4, "date")


def test_the_message_names_file_line_and_field_in_plain_words() -> None:
    error = fails(change("date: 2024-12-06", "date: 2024-02-30"))
    assert str(error) == f'{PATH}:4: [date] "2024-02-30" is not a real date (use YYYY-MM-DD)'


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        # YAML syntax, its line offset by the opening "---"
        ("subject: Oggetto della settimana", "subject: Oggetto: bis", 5, None, "not valid YAML"),
        ("  title: Copertina", "\ttitle: Copertina", 8, None, "tabs"),
        # missing fields: at the opening "---", or at the name of the group that lacks them
        ("preheader: Anteprima del numero\n", "", 1, "preheader", "is missing"),
        ("  link: https://example.org/a\n", "", 7, "cover.link", "is missing"),
        (SECOND, "  - link: https://example.org/2", 17, "highlights[2].title", "is missing"),
        # unknown fields, with a suggestion for typos
        ("subject: Oggetto", "subjet: Oggetto", 5, "subjet", 'did you mean "subject"'),
        (ALT, ALT + "\n  autore: x", 11, "cover.autore", "unknown field"),
        ("number: 44", "number: 44\nnumber: 45", 4, "number", "appears twice (first on line 3)"),
        # wrong types and values
        ("number: 44", "number: quarantaquattro", 3, "number", "not a whole number"),
        ("number: 44", "number: 0", 3, "number", "above zero"),
        ("number: 44", "number: [4, 4]", 3, "number", "not a list"),
        ("date: 2024-12-06", "date: 6 dicembre 2024", 4, "date", "use YYYY-MM-DD"),
        ("newsletter: cronache", "newsletter: Cronache!", 2, "newsletter", "lower-case"),
        (COVER, "cover: la copertina\n", 7, "cover", "`name: value`"),
        (HIGHLIGHTS, "highlights: tanti\n", 12, "highlights", "list of items"),
        (HIGHLIGHTS, "highlights:\n  - Primo\n", 13, "highlights[1]", "`name: value`"),
        # empty or multi-line text
        ("subject: Oggetto della settimana", 'subject: ""', 5, "subject", "is empty"),
        ("subject: Oggetto della settimana", "subject:", 5, "subject", "is empty"),
        ("subject: Oggetto della settimana", 'subject: "Riga\\nriga"', 5, "subject", "one line"),
        # pictures without alt text
        ("  image_alt: Una foto\n", "", 9, "cover.image_alt", "no alt text"),
        (ALT, '  image_alt: ""', 10, "cover.image_alt", "is empty"),
        ("    image_alt: Foto uno\n", "", 15, "highlights[1].image_alt", "no alt text"),
        (SECOND, SECOND + "\n    image_alt: x", 18, "highlights[2].image_alt", "no image"),
    ],
)
def test_front_matter_mistakes_are_located(
    old: str, new: str, line: int, field: str | None, words: str
) -> None:
    assert_located(fails(change(old, new)), line, field, words)


#: Field -> its line in VALID and that line up to the value.
ADDRESS_LINES = {
    "cover.link": (11, "  link: "),
    "cover.image": (9, "  image: "),
    "highlights[1].link": (14, "    link: "),
}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        # addresses that are not http(s), or pictures that are not https
        ("cover.link", "javascript:alert(1)", "must start with https:// or http://"),
        ("cover.image", "http://example.org/a.jpg", "must start with https://"),
        ("highlights[1].link", "ftp://example.org/1", "must start with"),
        ("cover.link", "https://", "site name"),
        ("cover.link", '"https://example.org/a b"', "spaces"),
    ],
)
def test_bad_addresses_are_located(field: str, value: str, words: str) -> None:
    line, key = ADDRESS_LINES[field]
    old = VALID.split("\n")[line - 1]
    assert old.startswith(key)
    assert_located(fails(change(old, key + value)), line, field, words)


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        (
            "Testo del primo articolo con un [collegamento](https://example.org/x).",
            "Testo con un [collegamento](javascript:alert(1)).",
            22,
            "must start with",
        ),
        (MORE, MORE + "\nE una foto ![](https://example.org/p.jpg).", 29, "no alt text"),
        (MORE, "Altro\n![Foto](http://example.org/p.jpg)", 29, "must start with https://"),
        ("a.r.a.\n", "\n", 22, '"Primo articolo" must end with its author\'s initials'),
        ("m.fa.\n", "", 28, '"Secondo articolo" must end'),
        (FIRST, "Premessa senza titolo." + FIRST, 19, "before the first article"),
        ("## Secondo articolo", "# Secondo articolo", 26, "use ## for article titles"),
        ("Altro testo.\n\n", "", 26, '"Secondo articolo" has no text'),
        ("## Secondo articolo", "##   ", 26, "title is empty"),
        ("Altro testo.", "Altro testo con ZqSL&#79;TUNSUB.", 28, "reserved"),
    ],
)
def test_body_mistakes_are_located(old: str, new: str, line: int, words: str) -> None:
    error = fails(change(old, new))
    assert (error.line, error.field) == (line, "body")
    assert words in error.problem


def test_an_empty_body_is_refused_at_the_closing_delimiter() -> None:
    error = fails(VALID[: VALID.index("---\n\n## Primo") + 4])
    assert (error.line, error.field) == (18, "body")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (VALID.removeprefix("---\n"), 1),
        (VALID.replace("---\n\n## Primo", "\n\n## Primo"), 1),
    ],
)
def test_missing_delimiters_are_refused(text: str, line: int) -> None:
    error = fails(text)
    assert error.line == line and "---" in error.problem


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("Altro testo.", "Altro ZqSLOTUNSUBx7Kq9w testo.", 28),
        ("subject: Oggetto della settimana", "subject: ZqSLOT", 5),
    ],
)
def test_the_slot_marker_is_refused_wherever_it_is(old: str, new: str, line: int) -> None:
    error = fails(change(old, new))
    assert error.line == line and "reserved" in error.problem


def test_a_yaml_escape_cannot_smuggle_the_slot_marker() -> None:
    error = fails(change("subject: Oggetto della settimana", 'subject: "Zq\\x53LOT"'))
    assert (error.line, error.field) == (5, "subject")


def test_the_front_matter_is_never_constructed_as_python_objects() -> None:
    text = change("subject: Oggetto della settimana", "subject: !!python/object/apply:os.getcwd []")
    assert fails(text).field == "subject"


def test_load_edition_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nessuno.md"
    with pytest.raises(EditionFileError) as caught:
        load_edition(missing)
    assert caught.value.path == str(missing) and str(missing) in str(caught.value)


def test_load_edition_refuses_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(change("Altro testo.", "Città").encode("latin-1"))
    with pytest.raises(EditionFileError) as caught:
        load_edition(path)
    assert (caught.value.path, caught.value.line) == (str(path), 28)
    assert "UTF-8" in caught.value.problem


def test_the_package_exports_are_sorted_and_complete() -> None:
    exported = dispatcher.editions.__all__
    assert exported == sorted(exported)
    assert all(hasattr(dispatcher.editions, name) for name in exported)
