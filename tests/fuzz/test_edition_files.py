"""Edition files under fuzzing: any text is an Edition or a located EditionFileError.

Three kinds of input: arbitrary text (and bytes, through :func:`load_edition`); a valid
file with one field's value replaced by anything YAML can spell (unicode, control
characters, line breaks of every kind, tags such as ``!!python/object``, anchors and
aliases, flow collections, very long strings); and valid files whose text fields hold
template syntax and markup, which must come out of :func:`compile_edition` as written.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from dispatcher.editions import (
    Edition,
    NewsletterSettings,
    load_edition,
    parse_edition,
)
from dispatcher.editions.frontmatter import MAX_FRONT_MATTER
from dispatcher.errors import ContentError, EditionFileError
from dispatcher.render import EditionLinks, compile_edition
from tests.fuzz.strategies import TRICKS, any_char, awkward_text
from tests.support.data import EDITION_HEAD

PATH = "redazione/numero-44.md"
MAX_SUBJECT = 300  # the editions.subject column
MAX_INT4 = 2**31 - 1  # the editions.number column

# Every field (in EDITION_HEAD and below) is on a line of its own, so a fuzzed value's line
# is known.
TEMPLATE = (
    EDITION_HEAD
    + """\
  caption: Didascalia
  summary: Sommario
highlights:
  - title: Primo
    link: https://example.org/1
    summary: In breve
---

## Primo articolo

Testo del primo articolo.

a.r.a.
"""
)
TEMPLATE_LINES = TEMPLATE.split("\n")

#: Field name -> its line in TEMPLATE (1-based) and the text before its value there.
FIELDS = {
    "newsletter": (2, "newsletter: "),
    "number": (3, "number: "),
    "date": (4, "date: "),
    "subject": (5, "subject: "),
    "preheader": (6, "preheader: "),
    "cover.title": (8, "  title: "),
    "cover.image": (9, "  image: "),
    "cover.image_alt": (10, "  image_alt: "),
    "cover.link": (11, "  link: "),
    "cover.caption": (12, "  caption: "),
    "cover.summary": (13, "  summary: "),
    "highlights[1].title": (15, "  - title: "),
    "highlights[1].link": (16, "    link: "),
    "highlights[1].summary": (17, "    summary: "),
}


def with_value(name: str, fragment: str) -> str:
    """TEMPLATE with field ``name``'s value replaced by the YAML ``fragment`` as written."""
    line, key = FIELDS[name]
    lines = list(TEMPLATE_LINES)
    assert lines[line - 1].startswith(key)
    lines[line - 1] = key + fragment
    return "\n".join(lines)


def file_lines(text: str) -> list[str]:
    """The file's lines as an editor numbers them (what parse_edition reports against)."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def outcome(text: str, path: str = PATH) -> Edition | EditionFileError:
    """Parse ``text``; only an Edition or a well-located EditionFileError may come out."""
    try:
        edition = parse_edition(text, path)
    except EditionFileError as error:
        assert error.path == path
        assert str(error).startswith(path)
        assert error.problem.strip()
        if error.field is not None:
            assert error.line is not None, error
        if error.line is not None:
            assert 1 <= error.line <= len(file_lines(text)), error
        return error
    # Whatever the parser accepts must fit where it is stored.
    assert len(edition.subject) <= MAX_SUBJECT
    assert 1 <= edition.number <= MAX_INT4
    return edition


# --- arbitrary text ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(any_char, max_size=400))
def test_arbitrary_text_is_an_edition_or_a_located_error(text: str) -> None:
    outcome(text)


@settings(max_examples=300, deadline=None)
@given(awkward_text, st.sampled_from(["", "---\n", "---\r\n", "\ufeff---\n"]))
def test_arbitrary_text_after_a_delimiter_is_an_edition_or_a_located_error(
    text: str, start: str
) -> None:
    outcome(start + text)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_in_a_file_are_read_or_refused_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("edition") / "numero.md"
    path.write_bytes(data)
    try:
        load_edition(path)
    except EditionFileError as error:
        assert error.path == str(path) and str(error).startswith(str(path))


# --- a valid file with one value fuzzed -----------------------------------------------

YAML_SPECIALS = (
    "!!python/object/apply:os.system ['true']",
    "!!python/object/new:dict {}",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!timestamp 2024-12-06",
    "!!int 44",
    "!!str 44",
    "!!set {a, b}",
    "!custom x",
    "&ancora valore",
    "*ancora",
    "&a [*a]",
    "{a: 1}",
    "{}",
    "[1, 2]",
    "[]",
    "[[[[",
    "]]",
    "~",
    "null",
    "yes",
    "off",
    "0x1F",
    "1e3",
    "-1",
    "0",
    "00044",
    "44.0",
    "١٢",
    "99999999999999999999999999",
    "2147483648",
    "2024-02-30",
    "2024-13-45",
    "0000-01-01",
    "? a",
    "<<: *a",
    "%TAG ! tag:x,2024:",
    "---",
    "...",
    "@x",
    "`x`",
    "|",
    ">",
    "|-\n  riga uno\n  riga due",
    ">\n  piegato\n  su due righe",
    "'singolo'' apice'",
    '"doppio \\" apice"',
    '"\\x00\\x1b\\u2028"',
    '"ZqSLOT"',
    "https://example.org/ok",
    "javascript:alert(1)",
    "https://",
    "data:text/html,<script>alert(1)</script>",
    "- elenco",
    "x\nsubject: doppio",
    "x\n  rientrato: x",
    "x # commento",
    "\ttab",
)


def _double_quoted(text: str) -> str:
    # JSON strings are YAML double-quoted scalars: any code point can be spelled.
    return json.dumps(text, ensure_ascii=False)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _block(text: str) -> str:
    return "|\n" + "\n".join("  " + line for line in text.split("\n"))


fragments = st.one_of(
    st.sampled_from(YAML_SPECIALS),
    awkward_text,
    awkward_text.map(_double_quoted),
    awkward_text.map(_single_quoted),
    awkward_text.map(_block),
    st.text(any_char, max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from("a é😀<{\\9"), st.integers(290, 20_000)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FIELDS)), fragments)
def test_a_fuzzed_value_gives_an_edition_or_an_error_on_its_own_lines(
    name: str, fragment: str
) -> None:
    text = with_value(name, fragment)
    result = outcome(text)
    if isinstance(result, EditionFileError) and result.field == name:
        # A problem with this value is reported on the lines the value occupies.
        first = FIELDS[name][0]
        assert result.line is not None
        assert first <= result.line <= first + len(file_lines(fragment)) - 1, result


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(FIELDS)), st.sampled_from(YAML_SPECIALS))
def test_yaml_tags_never_construct_python_objects(name: str, fragment: str) -> None:
    result = outcome(with_value(name, fragment))
    if isinstance(result, Edition):
        # Whatever was accepted is plain text (or a number or date the parser checked).
        values = json.dumps(result.to_dict(), ensure_ascii=False)
        assert "python" not in values or "python" in fragment


def test_a_billion_laughs_is_answered_at_once() -> None:
    # Nine aliases per level, nine levels: 9**9 strings if anything expanded them.
    levels = ['l0: &l0 "ha"'] + [
        f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 10)
    ]
    for value in ("*l9", "[*l9, *l9]"):
        text = with_value("subject", value).replace("---\n", "---\n" + "\n".join(levels) + "\n", 1)
        started = time.perf_counter()
        error = outcome(text)
        assert isinstance(error, EditionFileError)
        assert time.perf_counter() - started < 1.0
    text = with_value("highlights[1].title", "Primo").replace(
        "highlights:\n", "highlights: [" + ", ".join(["*h"] * 2000) + "]\nx:\n", 1
    )
    assert isinstance(outcome(text), EditionFileError)


@pytest.mark.parametrize("depth", [50, 5_000, 100_000])
@pytest.mark.parametrize("brackets", ["[]", "{}"])
def test_deeply_nested_values_are_refused_not_a_crash(depth: int, brackets: str) -> None:
    opening, closing = brackets[0], brackets[1]
    error = outcome(with_value("subject", opening * depth + closing * depth))
    # Too long a front matter is refused before it is read, at its opening "---".
    expected = 1 if 2 * depth > MAX_FRONT_MATTER else 5
    assert isinstance(error, EditionFileError) and error.line == expected


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"])
def test_unusual_line_separators_keep_the_reported_lines_right(separator: str) -> None:
    # YAML counts NEL, LS and PS as line breaks; editors do not: the date on line 5
    # must still be reported on line 5, whatever the lines before it hold.
    text = TEMPLATE.replace("number: 44", f"number: 44 {separator}").replace(
        "date: 2024-12-06", "date: 2024-02-30"
    )
    text = text.replace(
        "newsletter: cronache", f"# nota{separator}{separator}\nnewsletter: cronache"
    )
    error = outcome(text)
    assert isinstance(error, EditionFileError)
    assert (error.field, error.line) == ("date", 5), error


@pytest.mark.parametrize("control", ["\x0b", "\x0c", "\x1b", "\x7f", "\ufffe"])
def test_a_control_character_yaml_refuses_is_located(control: str) -> None:
    error = outcome(with_value("preheader", f'"Anteprima {control}"'))
    assert isinstance(error, EditionFileError)
    assert error.line == 6 and "control character" in error.problem, error


def test_a_subject_longer_than_the_column_is_refused_on_its_line() -> None:
    error = outcome(with_value("subject", "a" * (MAX_SUBJECT + 1)))
    assert isinstance(error, EditionFileError) and (error.field, error.line) == ("subject", 5)
    assert isinstance(outcome(with_value("subject", "a" * MAX_SUBJECT)), Edition)


@pytest.mark.parametrize("number", ["2147483648", "99999999999999999999"])
def test_a_number_beyond_the_column_is_refused_on_its_line(number: str) -> None:
    error = outcome(with_value("number", number))
    assert isinstance(error, EditionFileError) and (error.field, error.line) == ("number", 3)


# --- template syntax and markup come out as written -------------------------------------

TEXT_FIELDS = (
    "subject",
    "preheader",
    "cover.title",
    "cover.image_alt",
    "cover.caption",
    "cover.summary",
    "highlights[1].title",
    "highlights[1].summary",
)
words = st.sampled_from(("Torino", "Città", "è", "50%", "n. 44", "—", "😀"))
tricky = st.lists(st.one_of(st.sampled_from(TRICKS), words), min_size=1, max_size=5).map(" ".join)
#: The fields the plain-text part shows (the subject, preheader and alt text are not in it).
TEXT_PART_FIELDS = frozenset(TEXT_FIELDS) - {"subject", "preheader", "cover.image_alt"}
# In the Markdown body, entities, * and _ are Markdown's own syntax (decoded, emphasis),
# as in any Markdown renderer; raw HTML and template syntax are shown as text.
BODY_TRICKS = tuple(t for t in TRICKS if not set(t) & set("&*_")) + ("{{ 6+1 }}",)
body_tricky = st.lists(st.one_of(st.sampled_from(BODY_TRICKS), words), min_size=1, max_size=5).map(
    " ".join
)


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _visible(html: str) -> str:
    body = html[html.index("<body") :]
    return _normalised(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


def _never_evaluated(html: str, text: str) -> None:
    # What {{7*'7'}} and the {% for %} loop would give; markup is text only in the text part.
    for evaluated in ("7777777", "xxxxxxxxx"):
        assert evaluated not in html and evaluated not in text, evaluated
    for markup in ("<script>", "<img src=x", "<b>grassetto", "</mj-text>", "<mj-raw>"):
        assert markup not in html, markup


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(TEXT_FIELDS), tricky)
def test_template_syntax_and_markup_in_a_field_come_out_as_written(
    newsletter_settings: NewsletterSettings, name: str, value: str
) -> None:
    edition = parse_edition(with_value(name, _double_quoted(value)), PATH)
    links = EditionLinks.for_edition("https://news.example.org", "cronache", 44)
    compiled = compile_edition(edition, newsletter_settings, links)
    assert str(escape(value)) in compiled.html, value
    if name in TEXT_PART_FIELDS:
        assert _normalised(value) in _normalised(compiled.text)
    if name == "subject":
        assert compiled.subject == value
        assert f"<title>{escape(value)}</title>" in compiled.html
    _never_evaluated(compiled.html, compiled.text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body_tricky, body_tricky)
def test_template_syntax_and_markup_in_an_article_come_out_as_written(
    newsletter_settings: NewsletterSettings, title: str, line: str
) -> None:
    source = TEMPLATE.replace("## Primo articolo", f"## {title}").replace(
        "Testo del primo articolo.", f"Testo: {line}"
    )
    edition = parse_edition(source, PATH)
    links = EditionLinks.for_edition("https://news.example.org", "cronache", 44)
    compiled = compile_edition(edition, newsletter_settings, links)
    visible = _visible(compiled.html)
    for value in (title, f"Testo: {line}"):
        assert _normalised(value) in visible, value
        assert _normalised(value) in _normalised(compiled.text), value
    _never_evaluated(compiled.html, compiled.text)


# --- a fuzzed body: parsed editions always compile ---------------------------------------

FRONT_MATTER = TEMPLATE[: TEMPLATE.index("## Primo articolo")]
body_lines = st.one_of(
    awkward_text,
    st.sampled_from(
        ("## Titolo", "a.r.a.", "m.fa., g.c.", "", "# Titolo", "> citazione", "- voce")
    ),
    st.sampled_from(("[x](https://example.org)", "![foto](https://example.org/f.jpg)")),
    st.sampled_from(("[x](javascript:alert(1))", "<https://example.org>", "&#90;qSLOT", "|a|b|")),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(body_lines, min_size=1, max_size=12))
def test_a_fuzzed_body_is_located_and_what_parses_compiles(
    newsletter_settings: NewsletterSettings, lines: list[str]
) -> None:
    text = FRONT_MATTER + "## Titolo\n\n" + "\n".join(lines) + "\n\na.r.a.\n"
    result = outcome(text)
    if isinstance(result, EditionFileError):
        return
    links = EditionLinks.for_edition("https://news.example.org", "cronache", 44)
    try:
        compiled = compile_edition(result, newsletter_settings, links)
    except ContentError as error:
        assert "reserved" in str(error)  # an entity spelling the slot marker
        return
    assert "ZqSLOT" not in compiled.html.replace("ZqSLOTUNSUBx7Kq9w", "").replace(
        "ZqSLOTPREFSx7Kq9w", ""
    )
