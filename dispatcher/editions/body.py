"""Split an edition's Markdown body into signed articles, checking its links and pictures.

Each level-two heading (``## Title``) starts an article; the article's last non-blank
line is its author's initials (``a.r.a.``). Text before the first heading is refused
rather than guessed at: it would belong to no article and so have no signature. A
level-one heading is refused too, since the masthead is the email's only top title.

An article's first line of text may name its section (``sezione: ambiente``); an
article titled ``## [en] Title`` is the English version of the article before it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence

from markdown_it.token import Token

from dispatcher.editions.checks import (
    BODY_LINK_SCHEMES,
    IMAGE_SCHEMES,
    Problem,
    control_problem,
    sentinel_problem,
    text_problem,
    url_problem,
)
from dispatcher.editions.markup import EditionMarkdown
from dispatcher.editions.model import Article
from dispatcher.errors import EditionFileError
from dispatcher.message.slots import SENTINEL_PREFIX

FIELD = "body"
INITIALS_EXAMPLE = "a.r.a."

# One to four letters then a dot, at least twice ("a.r.a.", "m.fa."); co-authors after , or /.
_ONE_AUTHOR = r"(?:[^\W\d_]{1,4}\.){2,}"
_INITIALS = re.compile(rf"{_ONE_AUTHOR}(?:\s*[,/]\s*{_ONE_AUTHOR})*")
# The line under an article's title that names its section: "sezione: ambiente".
_SECTION = re.compile(r"\s*(?:sezione|section)\s*:\s*(.*?)\s*", re.IGNORECASE)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# An article's English version: "## [en] Title", right after the Italian article.
_ENGLISH = re.compile(r"\[en\]\s*", re.IGNORECASE)


def read_articles(
    lines: Sequence[str], path: str, first_line: int, sections: Collection[str] | None = None
) -> tuple[Article, ...]:
    """Cut the body into articles.

    :param lines: the body's lines, without line ends
    :param path: the file, for error messages
    :param first_line: the file's 1-based line number of ``lines[0]``
    :param sections: the newsletter's section slugs, when known: an article naming
        another is refused (None: not checked here)
    :returns: the articles, in order, each with its English version folded in
    :raises EditionFileError: on an empty body, text before the first article, a level-one
        heading, an article without title, text or initials, a bad link or picture, an
        unknown section, or an English version that follows no Italian article
    """
    body = _Body(lines, path, first_line)
    body.check_characters()
    starts = body.article_starts(EditionMarkdown(check_links=False).parse("\n".join(lines)))
    ends = [heading for heading, _, _ in starts[1:]] + [len(lines)]
    articles: list[Article] = []
    for (heading, after, title), end in zip(starts, ends, strict=True):
        english = _ENGLISH.match(title)
        article = body.article(after, end, title[english.end() :] if english else title, sections)
        if english is None:
            articles.append(article)
        elif not articles or articles[-1].title_en is not None or article.section is not None:
            raise body.fail(heading, _ENGLISH_PROBLEM)
        else:
            articles[-1] = dataclasses.replace(
                articles[-1], title_en=article.title, body_en=article.body
            )
    return tuple(articles)


_ENGLISH_PROBLEM = (
    "an English version (## [en] Title) must follow its Italian article, one per article,"
    " and takes that article's section (no sezione: line of its own)"
)


class _Body:
    """The body's lines, and the errors about them located in the file."""

    def __init__(self, lines: Sequence[str], path: str, first_line: int) -> None:
        self.lines = lines
        self.path = path
        self.first_line = first_line

    def fail(self, index: int, problem: str) -> EditionFileError:
        return EditionFileError(self.path, self.first_line + index, FIELD, problem)

    def check_characters(self) -> None:
        """Refuse control characters: nobody could see them, and MJML cannot parse them."""
        for index, line in enumerate(self.lines):
            problem = control_problem(line)
            if problem:
                raise self.fail(index, f"the text {problem}").coded(problem.key)

    def article_starts(self, tokens: Sequence[Token]) -> list[tuple[int, int, str]]:
        """Find each article heading as (its first line, the line after it, its title)."""
        starts: list[tuple[int, int, str]] = []
        for index, token in enumerate(tokens):
            if token.type == "inline":
                self.check_inline(token)
            if token.level != 0 or token.map is None or token.nesting == -1:
                continue
            if token.type == "heading_open" and token.tag == "h2":
                line, after = token.map
                starts.append((line, after, self.title(line, tokens[index + 1])))
            elif token.type == "heading_open" and token.tag == "h1":
                raise self.fail(token.map[0], "use ## for article titles (# is not allowed)")
            elif not starts:
                problem = "text before the first article title (## Title) belongs to no article"
                raise self.fail(token.map[0], problem).coded("edition.text_before_article")
        if not starts:
            raise self.fail(0, "there are no articles: start each one with a line ## Title")
        return starts

    def title(self, line: int, inline: Token) -> str:
        """The title of the heading on body line ``line``, whose text is ``inline``."""
        title = inline.content.strip()
        problem = text_problem(title, one_line=True)
        if problem:
            error = self.fail(line, f"the article title {problem}")
            raise error.coded(problem.key, **problem.params)
        return title

    def article(
        self, start: int, end: int, title: str, sections: Collection[str] | None = None
    ) -> Article:
        """Build the article whose text runs over ``lines[start:end]``."""
        if not title:
            raise self.fail(start - 1, "the article title is empty")
        section, start = self.section(start, end, sections)
        last = end - 1
        while last >= start and not self.lines[last].strip():
            last -= 1
        initials = self.lines[last].strip() if last >= start else ""
        if not _INITIALS.fullmatch(initials):
            problem = (
                f'the article "{title}" must end with its author\'s initials '
                f"on a line of their own, such as {INITIALS_EXAMPLE}"
            )
            raise self.fail(last, problem).coded(
                "edition.no_initials", title=title, example=INITIALS_EXAMPLE
            )
        text = "\n".join(self.lines[start:last]).strip("\n")
        if not text.strip():
            error = self.fail(start - 1, f'the article "{title}" has no text')
            raise error.coded("edition.article_empty", title=title)
        return Article(title=title, body=text, initials=initials, section=section)

    def section(
        self, start: int, end: int, known: Collection[str] | None
    ) -> tuple[str | None, int]:
        """The section named on the article's first line of text, and where its text starts."""
        first = start
        while first < end and not self.lines[first].strip():
            first += 1
        found = _SECTION.fullmatch(self.lines[first]) if first < end else None
        if found is None:
            return None, start
        slug = found.group(1)
        if not _SLUG.fullmatch(slug):
            error = self.fail(first, f'"{slug}" is not a section (use its slug, such as ambiente)')
            raise error.coded("edition.bad_section", section=slug)
        if known is not None and slug not in known:
            listed = ", ".join(known) or "none: add [[sections]] to the newsletter's settings"
            problem = f'unknown section "{slug}" (this newsletter\'s sections: {listed})'
            raise self.fail(first, problem).coded("edition.unknown_section", section=slug)
        return slug, first + 1

    def check_inline(self, inline: Token) -> None:
        """Refuse bad links and pictures, and the slot marker hidden behind an entity."""
        for child in inline.children or ():
            if child.type == "link_open":
                self.check_url(inline, str(child.attrGet("href")), BODY_LINK_SCHEMES)
            elif child.type == "image":
                self.check_image(inline, child)
            elif SENTINEL_PREFIX in child.content:
                raise self.fail(self.line_of(inline, SENTINEL_PREFIX), sentinel_problem())

    def check_image(self, inline: Token, image: Token) -> None:
        src = str(image.attrGet("src"))
        self.check_url(inline, src, IMAGE_SCHEMES)
        if not image.content.strip():
            problem = f"the picture {src} has no alt text: write ![what it shows]({src})"
            problem = Problem(problem, "edition.picture_alt", src=src)
            raise self.fail(self.line_of(inline, src), problem)

    def check_url(self, inline: Token, url: str, schemes: tuple[str, ...]) -> None:
        problem = url_problem(url, schemes)
        if problem is None and SENTINEL_PREFIX in url:
            problem = sentinel_problem()
        if problem:
            raise self.fail(self.line_of(inline, url), problem)

    def line_of(self, inline: Token, needle: str) -> int:
        """The body line of ``inline`` that holds ``needle``, else the block's first line."""
        first, stop = inline.map or (0, len(self.lines))  # markdown-it maps every block
        for index in range(first, stop):
            if needle in self.lines[index]:
                return index
        return first
