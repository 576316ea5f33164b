"""Turn an article's Markdown into the HTML fragment the email template places.

Raw HTML is off (see :mod:`dispatcher.editions.markup`), so whatever an editor typed is
escaped. mjml-python cannot inline CSS rules, so the few styles that matter in mail
clients without ``<style>`` support are written on the elements themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence

from markdown_it.token import Token

from dispatcher.editions.markup import EditionMarkdown

ARTICLE_IMAGE_WIDTH = 552  # the 600 px body less the text's 24 px side padding

_BLOCK_STYLES = {
    "ol": "margin:13px 0;padding-left:28px;",
    "ul": "margin:13px 0;padding-left:28px;",
    "li": "margin:0 0 4px;",
    "blockquote": "margin:16px 0;padding:0 0 0 14px;border-left:3px solid {primary};",
    "h3": "margin:20px 0 8px;font-size:19px;line-height:1.3;color:{primary};",
    "h4": "margin:16px 0 6px;font-size:17px;line-height:1.3;",
    "h5": "margin:16px 0 6px;font-size:16px;",
    "h6": "margin:16px 0 6px;font-size:16px;",
}
_IMAGE_STYLE = f"display:block;width:100%;max-width:{ARTICLE_IMAGE_WIDTH}px;height:auto;border:0;"
_TABLE_STYLE = "width:100%;border-collapse:collapse;margin:13px 0;font-size:15px;line-height:1.4;"
# Cells: markdown-it writes the column's alignment as their only style; browsers centre
# header cells unless told otherwise.
_CELL_STYLES = {
    "th": "padding:6px 8px;border-bottom:2px solid {primary};font-weight:bold;",
    "td": "padding:6px 8px;border-bottom:1px solid #d0d0d0;vertical-align:top;",
}


@functools.cache
def _markdown() -> EditionMarkdown:
    return EditionMarkdown()


def parse_markdown(source: str) -> list[Token]:
    """Parse an article body with the editions' Markdown dialect.

    :param source: the Markdown text
    :returns: markdown-it's block tokens
    """
    return _markdown().parse(source)


def redirect_links(tokens: Sequence[Token], links: Mapping[str, str]) -> list[Token]:
    """Point each link found in ``links`` at its replacement (reach's counted address).

    :param tokens: markdown-it's block tokens, changed in place
    :param links: ``address -> replacement``; other links are left alone
    :returns: the tokens
    """
    for token in all_tokens(tokens):
        href = str(token.attrGet("href") or "") if token.type == "link_open" else ""
        if href in links:
            token.attrSet("href", links[href])
    return list(tokens)


def markdown_to_html(
    source: str, *, link: str, primary: str, links: Mapping[str, str] | None = None
) -> str:
    """Render an article body as HTML for the email.

    :param source: the Markdown text
    :param link: the #rrggbb colour of links
    :param primary: the #rrggbb colour of subheadings and quotation rules
    :param links: links to replace (``address -> replacement``), as :func:`redirect_links`
    :returns: the HTML fragment, with the editor's text escaped and images given a width
    """
    tokens = redirect_links(parse_markdown(source), links or {})
    for token in all_tokens(tokens):
        if token.type == "link_open":
            token.attrSet("style", f"color:{link};text-decoration:underline;")
        elif token.type == "image":
            token.attrSet("width", str(ARTICLE_IMAGE_WIDTH))
            token.attrSet("style", _IMAGE_STYLE)
        elif token.nesting == 1 and token.tag in _BLOCK_STYLES:
            token.attrSet("style", _BLOCK_STYLES[token.tag].format(primary=primary))
        elif token.type == "table_open":
            token.attrSet("style", _TABLE_STYLE)
        elif token.type in ("th_open", "td_open"):
            _style_cell(token, primary)
    md = _markdown()
    html: str = md.renderer.render(tokens, md.options, {})
    return html


def _style_cell(token: Token, primary: str) -> None:
    """Give a table cell padding, a rule and its alignment; header cells name their column."""
    align = str(token.attrGet("style") or "text-align:left")
    token.attrSet("style", f"{align};" + _CELL_STYLES[token.tag].format(primary=primary))
    if token.tag == "th":
        token.attrSet("scope", "col")


def all_tokens(tokens: Sequence[Token]) -> Iterator[Token]:
    """Every token, the inline children after their parent."""
    for token in tokens:
        yield token
        if token.children:
            yield from all_tokens(token.children)
