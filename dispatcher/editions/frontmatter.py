"""Read an edition's YAML front matter into typed values, locating every problem.

PyYAML's composer gives each node the place it starts at, which a constructed Python dict
would lose; so the front matter is composed (SafeLoader, nothing is ever constructed
from tags) and read field by field. A problem with a field's value is reported on the
line of the field's name, a missing field on the line of the mapping that lacks it.

Composing never expands aliases (a "billion laughs" stays a few shared nodes, and
nothing here walks them), but PyYAML's composer recurses once per level of nesting,
so the depth is bounded (:class:`_Loader`) rather than left to exhaust the stack.
"""

from __future__ import annotations

import bisect
import datetime
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NoReturn

import yaml

from dispatcher.editions.checks import (
    IMAGE_SCHEMES,
    WEB_SCHEMES,
    Problem,
    collapse_whitespace,
    text_problem,
    url_problem,
)
from dispatcher.editions.model import Cover, EnglishTexts, FrontMatter, Highlight
from dispatcher.errors import EditionFileError

TOP_FIELDS = ("newsletter", "number", "date", "subject", "preheader", "cover", "highlights", "en")
COVER_FIELDS = ("title", "image", "image_alt", "link", "caption", "summary")
HIGHLIGHT_FIELDS = ("title", "link", "summary", "image", "image_alt")
# The English version: texts only (links and pictures are the Italian ones).
EN_FIELDS = ("subject", "preheader", "cover", "highlights")
EN_COVER_FIELDS = ("title", "image_alt", "caption", "summary")
EN_HIGHLIGHT_FIELDS = ("title", "summary", "image_alt")

MAX_SUBJECT = 300  # characters: the editions.subject column (and more than any inbox shows)
MAX_NUMBER = 2**31 - 1  # the editions.number column (a PostgreSQL integer)
MAX_DEPTH = 20  # levels of nesting; a valid front matter has four (highlights' fields)
# Characters: a real front matter is about 2,000; this bounds what one upload can make us hold.
MAX_FRONT_MATTER = 64 * 1024

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NULL_TAG = "tag:yaml.org,2002:null"


def read_front_matter(text: str, path: str, first_line: int) -> FrontMatter:
    """Compose and check the front matter of an edition file.

    :param text: the YAML between the two ``---`` lines
    :param path: the file, for error messages
    :param first_line: the file's 1-based line number of the YAML's first line
    :returns: the checked values
    :raises EditionFileError: on a YAML syntax error or any wrong, missing or unknown field
    """
    place = _Place(path, first_line, "", _line_breaks(text))
    if len(text) > MAX_FRONT_MATTER:
        problem = f"the front matter is longer than {MAX_FRONT_MATTER:,} characters"
        error = EditionFileError(path, first_line - 1, None, problem)
        raise error.coded("edition.front_matter_long", max=MAX_FRONT_MATTER)
    root = _compose(text, place)
    if root is None:
        error = EditionFileError(path, first_line - 1, None, "the front matter is empty")
        raise error.coded("edition.front_matter_empty")
    # A missing top-level field is reported on the opening "---" line.
    top = _Fields.of(root, place, TOP_FIELDS, first_line - 1)
    highlights = tuple(_highlight(item) for item in top.mappings("highlights", HIGHLIGHT_FIELDS))
    return FrontMatter(
        newsletter=_slug(top, "newsletter"),
        number=top.positive_int("number"),
        date=top.date("date"),
        subject=top.text("subject", max_length=MAX_SUBJECT),
        preheader=top.text("preheader"),
        cover=_cover(top.mapping("cover", COVER_FIELDS)),
        highlights=highlights,
        en=_english(top.mapping("en", EN_FIELDS), highlights) if "en" in top.nodes else None,
    )


class _Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader, refusing anchors, aliases and values nested too deep.

    Its composer recurses once per level, so ``[[[[...]]]]`` a few thousand deep
    would raise RecursionError from deep inside PyYAML instead of a located error.
    Aliases repeat a value without repeating its text: nine lines of them make a
    billion strings ("billion laughs"), and a 283 KB upload became 75 MB. No edition
    needs them, so an anchor or alias is refused where it stands.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
            problem = (
                f"YAML anchors and aliases ({sign}{event.anchor}) are not allowed:"
                " write the value out in full"
            )
            raise yaml.composer.ComposerError(None, None, problem, event.start_mark)
        if self._depth >= MAX_DEPTH:
            # Located at the innermost value still allowed: its line holds the next one.
            mark = parent.start_mark if parent is not None else None
            raise yaml.composer.ComposerError(None, None, "values nested too deeply", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, place: _Place) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = place.at(mark.index) if mark else place.first_line
        problem = exc.problem or exc.context or "syntax error"
        key = "edition.yaml"
        if "'\\t'" in problem:
            problem += " (indent with spaces, not tabs)"
            key = "edition.yaml_tab"
        if "anchors and aliases" in problem:
            key = "edition.yaml_alias"
        problem = f"the front matter is not valid YAML: {problem}"
        raise EditionFileError(place.path, line, None, problem).coded(key) from exc
    except yaml.reader.ReaderError as exc:
        # YAML allows no control characters but tab and line breaks, even quoted.
        problem = (
            f"the front matter contains an invisible control character (U+{exc.character:04X}):"
            " retype the line or paste it as plain text"
        )
        error = EditionFileError(place.path, place.at(exc.position), None, problem)
        raise error.coded("check.control_character") from exc
    except yaml.YAMLError as exc:
        problem = f"the front matter cannot be read: {exc}"
        error = EditionFileError(place.path, place.first_line, None, problem)
        raise error.coded("edition.yaml") from exc


def _line_breaks(text: str) -> tuple[int, ...]:
    """Where the front matter's lines end, to turn YAML's character positions into lines.

    YAML's own line count also breaks at NEL, LS and PS (U+0085, U+2028, U+2029),
    which editors and :func:`~dispatcher.editions.parse.parse_edition` do not: the
    reported line would drift past the real one.
    """
    return tuple(index for index, char in enumerate(text) if char == "\n")


def _slug(fields: _Fields, name: str) -> str:
    value = fields.text(name)
    if not _SLUG.fullmatch(value):
        problem = f'"{value}" is not a newsletter name (use lower-case letters, digits, -)'
        fields.fail(name, problem, "edition.bad_newsletter", value=value)
    return value


def _cover(fields: _Fields) -> Cover:
    image = fields.url("image", IMAGE_SCHEMES)
    return Cover(
        title=fields.text("title"),
        image=image,
        image_alt=_alt_text(fields, image),
        link=fields.url("link", WEB_SCHEMES),
        caption=fields.optional_paragraph("caption"),
        summary=fields.optional_paragraph("summary"),
    )


def _highlight(fields: _Fields) -> Highlight:
    image = fields.optional_url("image", IMAGE_SCHEMES)
    if image is None and "image_alt" in fields.nodes:
        fields.fail("image_alt", "alt text is given but there is no image", "edition.alt_no_image")
    return Highlight(
        title=fields.text("title"),
        link=fields.optional_url("link", WEB_SCHEMES),
        summary=fields.optional_paragraph("summary"),
        image=image,
        image_alt=None if image is None else _alt_text(fields, image),
    )


def _english(fields: _Fields, highlights: tuple[Highlight, ...]) -> EnglishTexts:
    """The ``en:`` mapping: English texts for the subject, preheader, cover and highlights."""
    cover = fields.mapping("cover", EN_COVER_FIELDS).texts() if "cover" in fields.nodes else None
    items = list(fields.mappings("highlights", EN_HIGHLIGHT_FIELDS))
    if len(items) > len(highlights):
        problem = f"has {len(items)} items but the edition has {len(highlights)} highlights"
        fields.fail("highlights", problem)
    for item, highlight in zip(items, highlights, strict=False):
        if "image_alt" in item.nodes and highlight.image is None:
            item.fail("image_alt", "alt text is given but this highlight has no image")
    return EnglishTexts(
        subject=fields.optional_text("subject", MAX_SUBJECT),
        preheader=fields.optional_text("preheader"),
        cover=cover,
        highlights=tuple(item.texts() for item in items),
    )


def _alt_text(fields: _Fields, image: str) -> str:
    if "image_alt" not in fields.nodes:
        line = fields.nodes["image"][0]
        problem = "the image has no alt text: say in a few words what it shows"
        field = fields.place.name("image_alt")
        raise EditionFileError(fields.place.path, line, field, problem).coded("edition.image_alt")
    return fields.text("image_alt")


@dataclass(frozen=True)
class _Place:
    """Where a mapping is: the file, the YAML's first line in it, and the field prefix.

    ``breaks`` are the positions of the YAML text's line feeds (:func:`_line_breaks`).
    """

    path: str
    first_line: int
    prefix: str
    breaks: tuple[int, ...]

    def at(self, index: int) -> int:
        """The file's line of the YAML text's character ``index``."""
        return self.first_line + bisect.bisect_left(self.breaks, index)

    def line(self, node: yaml.Node) -> int:
        return self.at(node.start_mark.index)

    def within(self, prefix: str) -> _Place:
        """The place of a mapping nested in this one, its fields named after ``prefix``."""
        return replace(self, prefix=self.name(prefix))

    def name(self, field: str) -> str:
        return f"{self.prefix}{field}"


@dataclass(frozen=True)
class _Fields:
    """A YAML mapping's values by field name, each with the line of its name."""

    place: _Place
    line: int
    nodes: dict[str, tuple[int, yaml.Node]]

    @classmethod
    def of(cls, node: yaml.Node, place: _Place, allowed: tuple[str, ...], line: int) -> _Fields:
        """Check that ``node`` is a mapping with known, unrepeated field names.

        ``line`` is where a missing field is reported: the mapping's own name, or its item.
        """
        if not isinstance(node, yaml.MappingNode):
            where = place.prefix.rstrip(".") or None
            problem = "must be a list of `name: value` lines"
            error = EditionFileError(place.path, place.line(node), where, problem)
            raise error.coded("edition.not_fields")
        nodes: dict[str, tuple[int, yaml.Node]] = {}
        for key, value in node.value:
            key_line = place.line(key)
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if name in nodes:
                problem = f"appears twice (first on line {nodes[name][0]})"
                problem = Problem(problem, "edition.field_twice", first=nodes[name][0])
            elif name not in allowed:
                problem = _unknown(name, allowed)
            else:
                nodes[name] = (key_line, value)
                continue
            raise EditionFileError(place.path, key_line, place.name(name), problem)
        return cls(place, line, nodes)

    def fail(self, name: str, problem: str, key: str = "", **params: object) -> NoReturn:
        """Refuse the value of field ``name`` (``key`` and ``params`` name the problem).

        :raises EditionFileError: always
        """
        line = self.nodes[name][0] if name in self.nodes else self.line
        error = EditionFileError(self.place.path, line, self.place.name(name), problem)
        raise error.coded(key, **params) if key else error

    def _node(self, name: str) -> yaml.Node:
        if name not in self.nodes:
            self.fail(name, "is missing", "edition.missing_field")
        return self.nodes[name][1]

    def _scalar(self, name: str, kind: str) -> str:
        node = self._node(name)
        if not isinstance(node, yaml.ScalarNode):
            problem = f"must be {kind}, not a list or a group of fields"
            self.fail(name, problem, "edition.not_single")
        # Text fields take what was written, so `subject: 2024` or `title: yes` stay text.
        return "" if node.tag == _NULL_TAG else str(node.value).strip()

    def text(self, name: str, max_length: int | None = None) -> str:
        value = self._scalar(name, "text")
        problem = text_problem(value, one_line=True)
        if problem is None and max_length is not None and len(value) > max_length:
            problem = Problem(
                f"is {len(value)} characters long: keep it within {max_length}",
                "check.too_long",
                length=len(value),
                max=max_length,
            )
        if problem:
            self.fail(name, problem)
        return value

    def optional_text(self, name: str, max_length: int | None = None) -> str | None:
        return self.text(name, max_length) if name in self.nodes else None

    def texts(self) -> dict[str, str]:
        """Every field of this mapping as one-line text (the English version's texts)."""
        found = {name: self.optional_paragraph(name) for name in self.nodes}
        return {name: value for name, value in found.items() if value is not None}

    def optional_paragraph(self, name: str) -> str | None:
        if name not in self.nodes:
            return None
        value = collapse_whitespace(self._scalar(name, "text"))
        problem = text_problem(value, one_line=True)
        if problem:
            self.fail(name, problem)
        return value

    def url(self, name: str, schemes: tuple[str, ...]) -> str:
        value = self._scalar(name, "a web address")
        problem = "is empty" if not value else url_problem(value, schemes)
        if problem:
            self.fail(name, problem)
        return value

    def optional_url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        return self.url(name, schemes) if name in self.nodes else None

    def positive_int(self, name: str) -> int:
        value = self._scalar(name, "a whole number")
        digits = value.lstrip("0")
        if not value.isdigit() or not value.isascii() or not digits:
            problem = f'"{value[:40]}" is not a whole number above zero, such as 42'
            self.fail(name, problem, "edition.bad_number", value=value[:40])
        # Length first: int() refuses strings of over 4,300 digits with a ValueError.
        if len(digits) > len(str(MAX_NUMBER)) or int(digits) > MAX_NUMBER:
            problem = f"{value[:40]} is too large for an edition number"
            self.fail(name, problem, "edition.number_too_large", value=value[:40])
        return int(digits)

    def date(self, name: str) -> datetime.date:
        value = self._scalar(name, "a date")
        if not _DATE.fullmatch(value):
            problem = f'"{value}" is not a date (use YYYY-MM-DD, such as 2024-12-06)'
            self.fail(name, problem, "edition.bad_date", value=value)
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            problem = f'"{value}" is not a real date (use YYYY-MM-DD)'
            self.fail(name, problem, "edition.bad_date", value=value)

    def mapping(self, name: str, allowed: tuple[str, ...]) -> _Fields:
        node = self._node(name)
        return _Fields.of(node, self.place.within(name + "."), allowed, self.nodes[name][0])

    def mappings(self, name: str, allowed: tuple[str, ...]) -> Iterator[_Fields]:
        if name not in self.nodes or self.nodes[name][1].tag == _NULL_TAG:
            return
        node = self.nodes[name][1]
        if not isinstance(node, yaml.SequenceNode):
            problem = "must be a list of items, each starting with `- title:`"
            self.fail(name, problem, "edition.not_items")
        for index, item in enumerate(node.value):
            place = self.place.within(f"{name}[{index + 1}].")
            yield _Fields.of(item, place, allowed, place.line(item))


def _unknown(name: str, allowed: tuple[str, ...]) -> Problem:
    close = difflib.get_close_matches(name, allowed, n=1)
    known = ", ".join(allowed)
    if close:
        problem = f'unknown field (did you mean "{close[0]}"?)'
        return Problem(problem, "edition.field_close", close=close[0])
    return Problem(f"unknown field (known fields: {known})", "edition.unknown_field", known=known)
