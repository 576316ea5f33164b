"""The one Markdown dialect editions are written in.

CommonMark with raw HTML switched off, so ``<script>`` or ``<b>`` in an edition is shown
as text, never passed through, plus GitHub's pipe tables (which offices paste from
spreadsheets), rendered as real tables in the HTML and laid out in the text part. The
checker parses with every link kept, to tell the writer about a bad one; the renderer
keeps only links with allowed schemes, as a second line of defence for editions that did
not come through the checker.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from dispatcher.editions.checks import BODY_LINK_SCHEMES, url_problem


class EditionMarkdown(MarkdownIt):
    """CommonMark without raw HTML, with pipe tables; links and images limited to safe schemes.

    :param check_links: when False every link is kept as written, for the checker to report
    """

    def __init__(self, *, check_links: bool = True) -> None:
        super().__init__("commonmark", {"html": False})
        self.enable("table")
        self._check_links = check_links

    def validateLink(self, url: str) -> bool:
        """Keep ``url`` as a link (or image) only when its scheme is allowed in email."""
        if not self._check_links:
            return True
        # One validator serves links and images; https-only images are enforced by the checker.
        return url_problem(url, BODY_LINK_SCHEMES) is None
