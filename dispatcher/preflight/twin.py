"""Does the plain-text part say what the HTML says?

Readers whose client shows plain text (and spam filters, which compare the two)
should find the same articles and links. The text part is written from its own
template, so it can drift from the HTML; this compares the words and links
that a reader sees in each.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from dispatcher.preflight.findings import PreflightReport
from dispatcher.preflight.scan import HtmlScan

MIN_WORD_LENGTH = 4  # shorter words are mostly articles and prepositions
#: Words of the HTML missing from the text, as a share of the HTML's distinct words,
#: above which the text is reported (buttons such as "Leggi" may differ on purpose).
MISSING_WORDS_RATIO = 0.02
MAX_EXAMPLES = 8
_WORD = re.compile(r"[^\W\d_]+")
_URL = re.compile(r"https?://[^\s<>\"']+")


def words(text: str) -> list[str]:
    """The text's words, case-folded and normalised, in order of appearance."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    # Apostrophes glue Italian elisions ("dell'economia"): split them like spaces.
    normal = normal.replace("'", " ").replace("\u2019", " ")
    return [w for w in _WORD.findall(normal) if len(w) >= MIN_WORD_LENGTH]


def check_text_twin(scan: HtmlScan, text: str) -> PreflightReport:
    """Warn when words or links the HTML shows are missing from the plain-text part."""
    report = PreflightReport()
    html_words = list(dict.fromkeys(words(scan.visible_text)))
    text_words = set(words(text))
    missing = [w for w in html_words if w not in text_words]
    if html_words and len(missing) / len(html_words) > MISSING_WORDS_RATIO:
        report.warn(
            "text.missing_words",
            f"{len(missing)} of the {len(html_words)} words of the HTML are not in the plain "
            f"text, e.g. {_examples(missing)}",
            "text",
            missing=len(missing),
            total=len(html_words),
            examples=_examples(missing),
        )
    links = missing_links((link.href for link in scan.links), text)
    if links:
        report.warn(
            "text.missing_links",
            f"{len(links)} links of the HTML are not in the plain text: {_examples(links)}",
            "text",
            count=len(links),
            examples=_examples(links),
        )
    return report


def missing_links(hrefs: Iterable[str], text: str) -> list[str]:
    """The http(s) addresses among ``hrefs`` that ``text`` does not show."""
    shown = {_normal_url(u) for u in _URL.findall(text)}
    wanted = dict.fromkeys(h.strip() for h in hrefs)  # the parser already unescaped them
    return [h for h in wanted if h.startswith(("http://", "https://"))
            and _normal_url(h) not in shown]  # fmt: skip


def _normal_url(url: str) -> str:
    return url.rstrip(").,;:").rstrip("/")


def _examples(items: list[str]) -> str:
    shown = ", ".join(f'"{item}"' for item in items[:MAX_EXAMPLES])
    return shown + (", ..." if len(items) > MAX_EXAMPLES else "")
