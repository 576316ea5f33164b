"""The plain-text twin: Markdown to readable wrapped text, and the filters its template uses.

The text part is rendered from the edition's data, not converted from the HTML (MJML's
nested tables make messy text). Paragraphs are wrapped at :data:`WIDTH` columns; a web
address is never broken, even when it is longer than a line, so it stays clickable.
Links are written ``text <url>`` (the delimiters RFC 3986 appendix C suggests).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from dispatcher.render.markdown import parse_markdown, redirect_links
from dispatcher.render.tables import TextTable

WIDTH = 76


def wrap(text: str, first: str = "", rest: str | None = None, width: int = WIDTH) -> str:
    """Wrap one paragraph, keeping words and web addresses whole.

    :param text: the paragraph; runs of blanks and line breaks count as one space
    :param first: what the first line starts with (an indent or a list marker)
    :param rest: what the following lines start with; defaults to ``first``
    :param width: the longest line wanted, unless one word is longer
    :returns: the wrapped lines joined with ``\\n``
    """
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=first,
        subsequent_indent=first if rest is None else rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(wrapper.wrap(text)) or first.rstrip()


def heading(text: str, underline: str = "=", width: int = WIDTH) -> str:
    """Wrap a title and underline it as long as its longest line.

    :param text: the title
    :param underline: the character drawn under it
    :param width: the longest line wanted
    :returns: the title lines and the underline, joined with ``\\n``
    """
    lines = wrap(text, width=width)
    longest = max(len(line) for line in lines.split("\n"))
    return f"{lines}\n{underline * longest}"


def markdown_to_text(
    source: str, width: int = WIDTH, links: Mapping[str, str] | None = None
) -> str:
    """Render an article body as wrapped plain text.

    :param source: the Markdown text
    :param width: the longest line wanted
    :param links: links to replace (``address -> replacement``), as in the HTML part
    :returns: the text, blocks separated by blank lines (items of tight lists by none)
    """
    return _TextWriter(width).write(redirect_links(parse_markdown(source), links or {}))


def inline_text(children: Sequence[Token]) -> str:
    """The words of an inline run, with each link's address after its text.

    :param children: the children of a markdown-it ``inline`` token
    :returns: the text; hard line breaks are kept as ``\\n``
    """
    parts: list[str] = []
    opened: list[tuple[str, int]] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(f"[{child.content}]")
        elif child.type == "link_open":
            opened.append((str(child.attrGet("href")), len(parts)))
        elif child.type == "link_close" and opened:
            href, start = opened.pop()
            label = "".join(parts[start:]).strip()
            if href not in (label, f"mailto:{label}"):
                parts.append(f" <{href}>")
    return "".join(parts)


@dataclass
class _Container:
    """A list or block quote the writer is inside of."""

    quote: bool
    number: int = 1  # the next item's number; 0 for bullet lists
    delimiter: str = "."
    marker: str | None = None  # the current item's marker, until its first block uses it
    indent: int = 0


class _TextWriter:
    """Walks markdown-it's flat token stream, keeping the open lists and quotes."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.blocks: list[tuple[str, bool]] = []  # (text, part of a tight list)
        self.open: list[_Container] = []
        self.tight = False
        self.level = 0
        self.table: TextTable | None = None
        self.in_header = False
        self.align = "left"

    def write(self, tokens: Sequence[Token]) -> str:
        for token in tokens:
            self.take(token)
        out = ""
        for index, (text, tight) in enumerate(self.blocks):
            if index:
                out += "\n" if tight and self.blocks[index - 1][1] else "\n\n"
            out += text
        return out

    def take(self, token: Token) -> None:
        if token.type.startswith(("table_", "thead_", "tbody_", "tr_", "th_", "td_")):
            self.take_table(token)
        elif self.table is not None and token.type == "inline":
            cell = inline_text(token.children or ())
            self.table.add_cell(cell, self.align, self.in_header)
        else:
            self.take_block(token)

    def take_table(self, token: Token) -> None:
        kind = token.type
        if kind == "table_open":
            self.table = TextTable()
        elif kind in ("thead_open", "thead_close"):
            self.in_header = kind == "thead_open"
        elif kind in ("th_open", "td_open"):
            style = str(token.attrGet("style") or "")
            self.align = style.removeprefix("text-align:") or "left"
        elif self.table is not None and kind == "tr_open":
            self.table.start_row()
        elif self.table is not None and kind == "tr_close":
            self.table.end_row(self.in_header)
        elif self.table is not None and kind == "table_close":
            table, self.table = self.table, None
            _, rest = self.prefixes_peek()
            self.add_verbatim(table.lay_out(self.width - len(rest)))

    def take_block(self, token: Token) -> None:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1) if kind == "ordered_list_open" else 0
            self.open.append(_Container(quote=False, number=start, delimiter=token.markup))
        elif kind == "blockquote_open":
            self.open.append(_Container(quote=True))
        elif kind in ("bullet_list_close", "ordered_list_close", "blockquote_close"):
            self.open.pop()
        elif kind == "list_item_open":
            self.start_item(self.open[-1])
        elif kind in ("paragraph_open", "heading_open"):
            self.tight = token.hidden
            self.level = int(token.tag[1]) if kind == "heading_open" else 0
        elif kind == "inline":
            self.add_inline(inline_text(token.children or ()))
        elif kind in ("fence", "code_block"):
            self.add_verbatim(token.content.rstrip("\n"))
        elif kind == "hr":
            self.add_verbatim("* * *")

    def start_item(self, container: _Container) -> None:
        if container.number:
            container.marker = f"{container.number}{container.delimiter} "
            container.number += 1
        else:
            container.marker = "- "
        container.indent = len(container.marker)

    def prefixes_peek(self) -> tuple[str, str]:
        """What :meth:`prefixes` would give, without using up an item's marker."""
        markers = [container.marker for container in self.open]
        prefixes = self.prefixes()
        for container, marker in zip(self.open, markers, strict=True):
            container.marker = marker
        return prefixes

    def prefixes(self) -> tuple[str, str]:
        """What the next block's first line and following lines start with."""
        first = rest = ""
        for container in self.open:
            if container.quote:
                first, rest = first + "> ", rest + "> "
                continue
            first += container.marker or " " * container.indent
            rest += " " * container.indent
            container.marker = None
        return first, rest

    def add_inline(self, text: str) -> None:
        first, rest = self.prefixes()
        if self.level:
            underline = "-" if self.level <= 3 else "~"
            self.blocks.append((first + heading(text, underline, self.width - len(rest)), False))
            return
        pieces = text.split("\n")
        lines = [wrap(pieces[0], first, rest, self.width)]
        lines += [wrap(piece, rest, rest, self.width) for piece in pieces[1:]]
        self.blocks.append(("\n".join(lines), self.tight))

    def add_verbatim(self, text: str) -> None:
        first, rest = self.prefixes()
        lines = text.split("\n")
        body = [first + lines[0]] + [rest + line for line in lines[1:]]
        self.blocks.append(("\n".join(line.rstrip() for line in body), False))
