"""The web version framed as a page of the site, not as a mail opened in a browser.

The stored HTML is the mail as compiled once for every reader. On the site it gets the
site's header (who publishes it, the way back to the archive, how to subscribe) and a
``<main>`` landmark around the mail, and loses its "read in the browser" links, which
would only point at the page itself. The header is styled inline: the web version's
policy allows inline styles and nothing from outside.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from dispatcher.web.i18n import translate

_BAR = "background:#1c4f82;color:#fff;font-family:'Titillium Web',Arial,sans-serif;"
_LINK = "color:#fff;text-decoration:underline;margin-right:1.25rem;display:inline-block;"
_BODY_OPEN = re.compile(r"<body[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


def framed_web_version(
    html: str, *, language: str, name: str, archive_url: str, signup_url: str, self_url: str
) -> str:
    """``html`` with the site's header, a main landmark, and no link to itself."""
    html = _without_links_to(html, self_url)
    opening = _BODY_OPEN.search(html)
    closings = list(_BODY_CLOSE.finditer(html))
    closing = closings[-1] if closings else None
    if opening is None or closing is None:
        return html
    header = _header(language, name, archive_url, signup_url)
    return (
        html[: opening.end()]
        + header
        + '<main id="main">'
        + html[opening.end() : closing.start()]
        + "</main>"
        + html[closing.start() :]
    )


def _header(language: str, name: str, archive_url: str, signup_url: str) -> str:
    def t(key: str, **values: str) -> str:
        return translate(language, key, **values)

    return str(
        Markup(
            '<header style="{bar}padding:.6rem 1rem;font-size:16px;line-height:1.5">'
            '<p style="margin:0 0 .25rem;font-weight:700">{publisher}</p>'
            '<nav aria-label="{nav}">'
            '<a style="{link}" href="{archive}">{back}</a>'
            '<a style="{link}" href="{signup}">{subscribe}</a>'
            "</nav></header>"
        ).format(
            bar=_BAR,
            link=_LINK,
            publisher=t("site.publisher"),
            nav=t("web.nav"),
            archive=archive_url,
            back=t("web.back", name=name),
            signup=signup_url,
            subscribe=t("web.subscribe"),
        )
    )


def _without_links_to(html: str, url: str) -> str:
    """Drop every link to ``url`` (and the separator before one in a line of links)."""
    target = re.escape(str(escape(url)))
    link = r"<a\b[^>]*\bhref=\"" + target + r"\"[^>]*>.*?</a>"
    return re.sub(r"(?:\s*·\s*)?" + link, "", html, flags=re.DOTALL)
