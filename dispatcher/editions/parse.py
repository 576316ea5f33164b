"""Read an edition file: YAML front matter between ``---`` lines, then a Markdown body.

A file that cannot be used is refused with an :class:`~dispatcher.errors.EditionFileError`
naming the file, the line and the field, in words meant for the editorial office::

    examples/x.md:4: [date] "2024-02-30" is not a real date (use YYYY-MM-DD)

See ``examples/cronache-da-palazzo-cisterna.md`` for a complete edition.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from dispatcher.editions.body import read_articles
from dispatcher.editions.checks import sentinel_problem
from dispatcher.editions.frontmatter import read_front_matter
from dispatcher.editions.model import Edition
from dispatcher.errors import EditionFileError
from dispatcher.message.slots import SENTINEL_PREFIX

DELIMITER = "---"


def load_edition(path: Path) -> Edition:
    """Read and check the edition file at ``path``.

    :param path: the file (UTF-8 text)
    :returns: the checked edition
    :raises EditionFileError: when the file cannot be read, is not UTF-8 text, or is wrong
        in any way :func:`parse_edition` refuses
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise EditionFileError(str(path), None, None, "there is no such file") from exc
    except OSError as exc:
        raise EditionFileError(str(path), None, None, f"cannot be read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = "is not UTF-8 text (save it again choosing the UTF-8 encoding)"
        error = EditionFileError(str(path), line, None, problem).coded("edition.not_utf8")
        raise error from exc
    return parse_edition(text, str(path))


def parse_edition(text: str, path: str, sections: Collection[str] | None = None) -> Edition:
    """Check an edition's text and build the :class:`Edition` it describes.

    :param text: the whole file
    :param path: the file's name, used only in error messages
    :param sections: the newsletter's section slugs, when known: an article naming
        another is refused with its line (None: sections are not checked)
    :returns: the checked edition
    :raises EditionFileError: on missing ``---`` delimiters, a YAML syntax error, a missing,
        unknown or wrong field, an empty body, an article without initials, a bad link, or
        text containing the dispatcher's reserved slot marker
    """
    # A byte-order mark or Windows line ends must not shift the line numbers we report.
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    _refuse_slot_marker(lines, path)
    closing = _closing_delimiter(lines, path)
    front = read_front_matter("\n".join(lines[1:closing]), path, first_line=2)
    body = lines[closing + 1 :]
    if not any(line.strip() for line in body):
        problem = "there is no text after the front matter: add the articles, each under ## Title"
        raise EditionFileError(path, closing + 1, "body", problem).coded("edition.no_body")
    articles = read_articles(body, path, first_line=closing + 2, sections=sections)
    return front.with_articles(articles)


def _refuse_slot_marker(lines: Sequence[str], path: str) -> None:
    # Slots are filled by replacing bytes; an edition holding the marker could fill its own.
    for index, line in enumerate(lines):
        if SENTINEL_PREFIX in line:
            problem = sentinel_problem()
            raise EditionFileError(path, index + 1, None, f"the text {problem}").coded(
                problem.key, **problem.params
            )


def _closing_delimiter(lines: Sequence[str], path: str) -> int:
    if lines[0].rstrip() != DELIMITER:
        problem = (
            f'the file must start with a line "{DELIMITER}", then the fields (subject, date, '
            f'...), then another "{DELIMITER}" line, then the articles'
        )
        raise EditionFileError(path, 1, None, problem).coded("edition.no_front_matter")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == DELIMITER:
            return index
    problem = f'the front matter that starts here never ends: add a line "{DELIMITER}" after it'
    raise EditionFileError(path, 1, None, problem).coded("edition.front_matter_open")
