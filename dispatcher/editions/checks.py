"""Small checks shared by edition files, newsletter settings and the renderer.

Each check returns the problem in plain words, or None when the value is fine, so that
the caller can attach the file, line and field it knows about.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from dispatcher.message.slots import SENTINEL_PREFIX

WEB_SCHEMES = ("https", "http")
IMAGE_SCHEMES = ("https",)  # mail clients block or warn about http images
BODY_LINK_SCHEMES = ("https", "http", "mailto")
MAX_URL_LENGTH = 2000

# Not characters at all: MJML fails on the whole edition when it meets one.
_NONCHARACTERS = "\ufffe\uffff"
# Characters that would end an HTML attribute or a "text <url>" pair in the text part.
_URL_FORBIDDEN = re.compile(r"[\s<>\"\\]")


class Problem(str):
    """A problem in plain English words that also names itself for translation.

    It is a ``str`` (callers print it, or put it in a sentence of theirs); ``key`` and
    ``params`` are what the web pages translate. An :class:`EditionFileError` made with
    one takes its key (``dispatcher.errors``).
    """

    key: str
    params: dict[str, object]

    def __new__(cls, text: str, key: str, **params: object) -> Problem:
        made = super().__new__(cls, text)
        made.key, made.params = key, params
        return made


def url_problem(url: str, schemes: tuple[str, ...]) -> Problem | None:
    """Say why ``url`` cannot be a link or picture in an email.

    :param url: the address as written
    :param schemes: the schemes allowed here, in lower case, most preferred first
    :returns: the problem in plain words, or None when the address can be used
    """
    shown = f'"{url}"'
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in schemes or not rest:
        starts = (s + (":" if s == "mailto" else "://") for s in schemes)
        allowed = " or ".join(starts)
        return Problem(
            f"{shown} must start with {allowed}", "check.link_scheme", url=url, schemes=allowed
        )
    if _URL_FORBIDDEN.search(url) or any(unicodedata.category(c) == "Cc" for c in url):
        problem = f"{shown} contains spaces, quotes or other characters not allowed in a link"
        return Problem(problem, "check.link_characters", url=url)
    if len(url) > MAX_URL_LENGTH:
        problem = f"the address is longer than {MAX_URL_LENGTH} characters"
        return Problem(problem, "check.link_too_long", max=MAX_URL_LENGTH)
    if scheme.lower() == "mailto":
        problem = f"{shown} has no email address after mailto:"
        return None if "@" in rest else Problem(problem, "check.link_no_address", url=url)
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not rest.startswith("//") or not host:
        problem = f"{shown} has no site name (write it like https://www.example.org/page)"
        return Problem(problem, "check.link_no_site", url=url)
    return None


def text_problem(value: str, *, one_line: bool) -> Problem | None:
    """Say why ``value`` cannot be used as text in an email.

    :param value: the text, already stripped of surrounding blanks
    :param one_line: whether line breaks are refused (subjects, titles, alt text)
    :returns: the problem in plain words, or None when the text can be used
    """
    if not value:
        return Problem("is empty", "check.empty")
    if one_line and ("\n" in value or "\r" in value):
        return Problem("must be on one line", "check.one_line")
    problem = control_problem(value)
    if problem:
        return problem
    if SENTINEL_PREFIX in value:
        return sentinel_problem()
    return None


def control_problem(value: str) -> Problem | None:
    """Say why ``value`` holds a character nobody can see (tabs and line feeds are fine).

    U+FFFE and U+FFFF are no characters at all, and make MJML fail on the whole edition.

    :param value: the text
    :returns: the problem in plain words, or None when there is no control character
    """
    if any(
        (unicodedata.category(c) == "Cc" and c not in "\n\t") or c in _NONCHARACTERS for c in value
    ):
        problem = "contains an invisible control character (retype it or paste it as plain text)"
        return Problem(problem, "check.control_character")
    return None


def sentinel_problem() -> Problem:
    """:returns: the explanation given when text contains the reserved slot marker"""
    problem = f'contains "{SENTINEL_PREFIX}", which is reserved for the dispatcher\'s own use'
    return Problem(problem, "check.reserved_marker", marker=SENTINEL_PREFIX)


def collapse_whitespace(value: str) -> str:
    """Join the lines of a short paragraph into one line with single spaces.

    :param value: text as written, possibly over several lines
    :returns: the same words separated by single spaces
    """
    return " ".join(value.split())
