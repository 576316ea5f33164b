"""Split an edition's Markdown body into signed articles, checking its links and pictures.

Each level-two heading (``## Title``) starts an article; the article's last non-blank
line is its author's initials (``a.r.a.``). Text before the first heading is refused
rather than guessed at: it would belong to no article and so have no signature. A
level-one heading is refused too, since the masthead is the email's only top title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def read_articles(lines: Sequence[str], path: str, first_line: int) -> tuple[Article, ...]:
    """Cut the body into articles.

    :param lines: the body's lines, without line ends
    :param path: the file, for error messages
    :param first_line: the file's 1-based line number of ``lines[0]``
    :returns: the articles, in order
    :raises EditionFileError: on an empty body, text before the first article, a level-one
        heading, an article without title, text or initials, or a bad link or picture
    """
    body = _Body(lines, path, first_line)
    body.check_characters()
    starts = body.article_starts(EditionMarkdown(check_links=False).parse("\n".join(lines)))
    ends = [heading for heading, _, _ in starts[1:]] + [len(lines)]
    return tuple(
        body.article(after, end, title) for (_, after, title), end in zip(starts, ends, strict=True)
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

    def article(self, start: int, end: int, title: str) -> Article:
        """Build the article whose text runs over ``lines[start:end]``."""
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
        return Article(title=title, body=text, initials=initials)

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
