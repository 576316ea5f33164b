"""The edition form's values and the edition file they write, both ways (pure: no I/O).

The form holds what an edition file says, field by field: the front matter's values
and each article's title, Markdown text and initials. :func:`write_source` writes the
file that :func:`~dispatcher.editions.parse.parse_edition` reads back to the same
values (:func:`draft_of` turns the parsed edition into the form again), and records on
which line it put each field, so that the parser's located errors point at a field.

Form fields are named as the parser names them (``cover.image_alt``,
``highlights[2].title``); articles are ``articles[1].body``. The number in brackets is
the row's place in the form (``key``), which stays put when an empty row is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import yaml

from dispatcher.editions.markup import EditionMarkdown
from dispatcher.editions.model import Edition
from dispatcher.editions.parse import DELIMITER

COVER = ("title", "image", "image_alt", "link", "caption", "summary")
HIGHLIGHT = ("title", "link", "summary", "image", "image_alt")
ARTICLE = ("title", "body", "initials")
#: Cover and highlight fields the parser reads as paragraphs (whitespace collapsed).
PARAGRAPHS = frozenset({"caption", "summary"})
_ROW = re.compile(r"(highlights|articles)\[(\d{1,3})\]\.(\w+)")
# What YAML or an editor would take as the end of a line, inside a one-line field.
_BREAKS = re.compile("[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_WIDE = 1 << 30  # never fold a long value over two lines
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class HighlightDraft:
    title: str = ""
    link: str = ""
    summary: str = ""
    image: str = ""
    image_alt: str = ""
    key: int = 0  # the row's number in the form


@dataclass(frozen=True)
class ArticleDraft:
    title: str = ""
    body: str = ""  # Markdown, without the title line and the initials
    initials: str = ""
    key: int = 0


@dataclass(frozen=True)
class EditionDraft:
    """An edition as the form holds it: text fields, maybe wrong, maybe empty."""

    newsletter: str = ""
    number: str = ""
    date: str = ""
    subject: str = ""
    preheader: str = ""
    cover: Mapping[str, str] = field(default_factory=dict)
    highlights: tuple[HighlightDraft, ...] = ()
    articles: tuple[ArticleDraft, ...] = ()

    def value(self, name: str) -> str:
        """The value of the form field ``name`` (empty when there is no such row)."""
        if name.startswith("cover."):
            return self.cover.get(name[6:], "")
        found = _ROW.fullmatch(name)
        if found:
            rows = self.highlights if found[1] == "highlights" else self.articles
            row = next((r for r in rows if r.key == int(found[2])), None)
            return str(getattr(row, found[3], "")) if row is not None else ""
        return str(getattr(self, name, ""))


@dataclass(frozen=True)
class FieldError:
    """A problem at a form field (``name``), with the line inside an article's text if known."""

    name: str
    problem: str  # a text key
    line: int | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Written:
    """An edition file and where each field went: ``lines[name]`` is its 1-based line."""

    text: str
    lines: Mapping[str, int]
    body_starts: Mapping[int, int]  # article key -> line of the text's first line

    def field_at(self, line: int) -> tuple[str, int | None]:
        """The form field written on ``line`` and, in an article's text, the line within it."""
        starts = sorted((start, key) for key, start in self.body_starts.items())
        for start, key in reversed(starts):
            title = self.lines[f"articles[{key}].title"]
            if line >= title:
                if line == title:
                    return f"articles[{key}].title", None
                if line >= self.lines[f"articles[{key}].initials"]:
                    return f"articles[{key}].initials", None
                return f"articles[{key}].body", max(1, line - start + 1)
        front = [(at, name) for name, at in self.lines.items() if at <= line]
        return (max(front)[1] if front else "subject"), None


def draft_of(edition: Edition) -> EditionDraft:
    """The form's values for a stored or parsed edition."""
    return EditionDraft(
        newsletter=edition.newsletter,
        number=str(edition.number),
        date=edition.date.isoformat(),
        subject=edition.subject,
        preheader=edition.preheader,
        cover={name: getattr(edition.cover, name) or "" for name in COVER},
        highlights=tuple(
            HighlightDraft(**{n: getattr(h, n) or "" for n in HIGHLIGHT}, key=i)
            for i, h in enumerate(edition.highlights, 1)
        ),
        articles=tuple(
            ArticleDraft(a.title, a.body, a.initials, key=i)
            for i, a in enumerate(edition.articles, 1)
        ),
    )


def draft_from_form(form: Mapping[str, str]) -> EditionDraft:
    """The draft a submitted form describes, tidied as the parser would tidy it.

    Rows left entirely empty are dropped: that is how a highlight or article is removed.
    """
    rows: dict[tuple[str, int], dict[str, str]] = {}
    for name, value in form.items():
        found = _ROW.fullmatch(name)
        if found and found[3] in (HIGHLIGHT if found[1] == "highlights" else ARTICLE):
            rows.setdefault((found[1], int(found[2])), {})[found[3]] = value
    highlights = [
        HighlightDraft(**{n: _tidy(n, values.get(n, "")) for n in HIGHLIGHT}, key=key)
        for (kind, key), values in sorted(rows.items())
        if kind == "highlights"
    ]
    articles = [
        ArticleDraft(
            _tidy("title", values.get("title", "")),
            tidy_body(values.get("body", "")),
            _tidy("initials", values.get("initials", "")),
            key=key,
        )
        for (kind, key), values in sorted(rows.items())
        if kind == "articles"
    ]
    return EditionDraft(
        **{n: _tidy(n, form.get(n, "")) for n in ("newsletter", "number", "date")},
        subject=_tidy("subject", form.get("subject", "")),
        preheader=_tidy("preheader", form.get("preheader", "")),
        cover={n: _tidy(n, form.get(f"cover.{n}", "")) for n in COVER},
        highlights=tuple(h for h in highlights if _filled(h)),
        articles=tuple(a for a in articles if _filled(a)),
    )


def _filled(row: HighlightDraft | ArticleDraft) -> bool:
    return any(getattr(row, item.name) for item in fields(row) if item.name != "key")


def _tidy(name: str, value: str) -> str:
    value = value.replace("\r\n", "\n")
    return " ".join(value.split()) if name in PARAGRAPHS else value.strip()


def tidy_body(text: str) -> str:
    """An article's text without Windows line ends and the blank lines around it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def form_problems(draft: EditionDraft) -> list[FieldError]:
    """What the form must fix before an edition file can hold it (text keys as problems).

    The parser finds everything else; these are the things it would find at the wrong
    place: a line break in a one-line field, an article without initials, or a heading
    inside an article's text that would start another article.
    """
    found: list[FieldError] = []
    one_line = [(n, draft.value(n)) for n in ("number", "date", "subject", "preheader")]
    one_line += [(f"cover.{n}", draft.cover.get(n, "")) for n in COVER]
    for row in draft.highlights:
        one_line += [(f"highlights[{row.key}].{n}", getattr(row, n)) for n in HIGHLIGHT]
    for article in draft.articles:
        one_line += [(f"articles[{article.key}].{n}", getattr(article, n)) for n in ("title",)]
        one_line += [(f"articles[{article.key}].initials", article.initials)]
        if not article.initials:
            found.append(FieldError(f"articles[{article.key}].initials", "editor.no_initials"))
        if not article.body:
            found.append(FieldError(f"articles[{article.key}].body", "editor.no_text"))
        found += _headings(article)
    found += [FieldError(n, "editor.one_line") for n, value in one_line if _BREAKS.search(value)]
    if not draft.articles:
        found.append(FieldError("articles[1].title", "editor.no_articles"))
    return found


def _headings(article: ArticleDraft) -> list[FieldError]:
    for token in EditionMarkdown(check_links=False).parse(article.body):
        if token.type == "heading_open" and token.level == 0 and token.tag in ("h1", "h2"):
            line = (token.map or (0, 0))[0] + 1
            return [FieldError(f"articles[{article.key}].body", "editor.heading", line)]
    return []


def write_source(draft: EditionDraft) -> Written:
    """The edition file of a draft that :func:`form_problems` finds nothing wrong with."""
    out = _Lines()
    out.add(DELIMITER)
    out.pair("newsletter", "newsletter", draft.newsletter)
    out.pair("number", "number", int(draft.number) if draft.number.isdigit() else draft.number)
    out.pair("date", "date", _date(draft.date))
    out.pair("subject", "subject", draft.subject)
    out.pair("preheader", "preheader", draft.preheader)
    out.add("")
    out.add("cover:", "cover")
    for name in COVER:
        if draft.cover.get(name) or name not in PARAGRAPHS:
            out.pair(f"cover.{name}", f"  {name}", draft.cover.get(name, ""))
    if draft.highlights:
        out.add("")
        out.add("highlights:", "highlights")
    for row in draft.highlights:
        dash = "  - "
        for name in HIGHLIGHT:
            value = getattr(row, name)
            if value or name == "title":
                out.pair(f"highlights[{row.key}].{name}", f"{dash}{name}", value)
                dash = "    "
    out.add(DELIMITER)
    starts: dict[int, int] = {}
    for article in draft.articles:
        out.add("")
        out.add(f"## {article.title}".rstrip(), f"articles[{article.key}].title")
        out.add("")
        starts[article.key] = len(out.lines) + 1
        out.add(article.body)
        out.add("")
        out.add(article.initials, f"articles[{article.key}].initials")
    return Written("\n".join(out.lines) + "\n", out.at, starts)


def _date(value: str) -> str | dt.date:
    if _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return value


class _Lines:
    """The file's lines as they are written, and the line of each named field."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.at: dict[str, int] = {}

    def add(self, text: str, name: str | None = None) -> None:
        if name is not None:
            self.at[name] = len(self.lines) + 1
        self.lines.extend(text.split("\n"))

    def pair(self, name: str, key: str, value: str | int | dt.date) -> None:
        dumped = yaml.safe_dump({"k": value}, allow_unicode=True, width=_WIDE)
        self.add(f"{key}: {dumped[3:].rstrip()}", name)


def mismatch(draft: EditionDraft, parsed: Edition) -> FieldError | None:
    """Where the parsed edition differs from the form, if it does (a form the file misread).

    An article's text can swallow what follows it (a code block left open with ```), or
    a title can lose a trailing ``#``: the saved edition would not be what was typed.
    """
    back = draft_of(parsed)
    for mine, theirs in zip(draft.articles, (*back.articles, None), strict=False):
        if theirs is None or (mine.title, mine.body, mine.initials) != (
            theirs.title,
            theirs.body,
            theirs.initials,
        ):
            return FieldError(f"articles[{mine.key}].body", "editor.misread")
    for name in ("number", "date", "subject", "preheader"):
        if draft.value(name) != back.value(name):
            return FieldError(name, "editor.misread")
    for name in COVER:
        if draft.cover.get(name, "") != back.cover.get(name, ""):
            return FieldError(f"cover.{name}", "editor.misread")
    return None
