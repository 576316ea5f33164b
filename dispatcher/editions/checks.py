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


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """Say why ``url`` cannot be a link or picture in an email.

    :param url: the address as written
    :param schemes: the schemes allowed here, in lower case, most preferred first
    :returns: the problem in plain words, or None when the address can be used
    """
    shown = f'"{url}"'
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in schemes or not rest:
        starts = (s + (":" if s == "mailto" else "://") for s in schemes)
        return f"{shown} must start with {' or '.join(starts)}"
    if _URL_FORBIDDEN.search(url) or any(unicodedata.category(c) == "Cc" for c in url):
        return f"{shown} contains spaces, quotes or other characters not allowed in a link"
    if len(url) > MAX_URL_LENGTH:
        return f"the address is longer than {MAX_URL_LENGTH} characters"
    if scheme.lower() == "mailto":
        return None if "@" in rest else f"{shown} has no email address after mailto:"
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not rest.startswith("//") or not host:
        return f"{shown} has no site name (write it like https://www.example.org/page)"
    return None


def text_problem(value: str, *, one_line: bool) -> str | None:
    """Say why ``value`` cannot be used as text in an email.

    :param value: the text, already stripped of surrounding blanks
    :param one_line: whether line breaks are refused (subjects, titles, alt text)
    :returns: the problem in plain words, or None when the text can be used
    """
    if not value:
        return "is empty"
    if one_line and ("\n" in value or "\r" in value):
        return "must be on one line"
    problem = control_problem(value)
    if problem:
        return problem
    if SENTINEL_PREFIX in value:
        return sentinel_problem()
    return None


def control_problem(value: str) -> str | None:
    """Say why ``value`` holds a character nobody can see (tabs and line feeds are fine).

    U+FFFE and U+FFFF are no characters at all, and make MJML fail on the whole edition.

    :param value: the text
    :returns: the problem in plain words, or None when there is no control character
    """
    if any(
        (unicodedata.category(c) == "Cc" and c not in "\n\t") or c in _NONCHARACTERS for c in value
    ):
        return "contains an invisible control character (retype it or paste it as plain text)"
    return None


def sentinel_problem() -> str:
    """:returns: the explanation given when text contains the reserved slot marker"""
    return f'contains "{SENTINEL_PREFIX}", which is reserved for the dispatcher\'s own use'


def collapse_whitespace(value: str) -> str:
    """Join the lines of a short paragraph into one line with single spaces.

    :param value: text as written, possibly over several lines
    :returns: the same words separated by single spaces
    """
    return " ".join(value.split())
