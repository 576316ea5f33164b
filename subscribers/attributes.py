"""Typed access to what ``Subscriber.attributes`` holds, so new attributes need no migration.

Name and language have their own columns; everything else a person chooses or we
must remember about them lives in the JSON ``attributes``:

``sections``
    the sections of the newsletter the person wants (list of slugs)
``unsubscribed``
    per list id, how and when the person left it (``{"3": {"how": "one-click", "at": ...}}``)

SQLAlchemy does not see changes made inside a JSON value, so every writer here
returns or assigns a new dict.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from subscribers.models import Subscriber

SECTIONS = "sections"
UNSUBSCRIBED = "unsubscribed"

# The languages the office's files name in words; otherwise a two-letter code is expected.
_LANGUAGE_NAMES = {
    "italiano": "it", "italian": "it", "ita": "it",
    "inglese": "en", "english": "en", "eng": "en",
    "francese": "fr", "french": "fr", "francais": "fr", "français": "fr",
    "tedesco": "de", "german": "de", "deutsch": "de",
    "spagnolo": "es", "spanish": "es", "español": "es",
}  # fmt: skip


def normalise_language(raw: str) -> str | None:
    """A two-letter language code from ``it``, ``IT``, ``it-IT``, ``Italiano``...; else None."""
    text = raw.strip().lower()
    if text in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[text]
    match = re.fullmatch(r"([a-z]{2})(?:[-_][a-z]{2})?", text)
    return match.group(1) if match else None


def parse_sections(raw: str) -> list[str]:
    """Section names from one cell: separated by commas, ``|`` or new lines; case folded."""
    parts = (part.strip().lower() for part in re.split(r"[,|\n]", raw))
    return sorted({part for part in parts if part})


def section_names(list_settings: Mapping[str, Any] | None) -> dict[str, str]:
    """What a file may write for each section of a newsletter, folded, to its slug.

    A list's newsletter settings (its JSON) define the sections, each with a slug and
    an Italian and an English name; any of the three names the section.
    """
    found: dict[str, str] = {}
    for item in (list_settings or {}).get("sections") or ():
        if isinstance(item, Mapping) and isinstance(item.get("slug"), str):
            for name in (item.get("slug"), item.get("name"), item.get("name_en")):
                if isinstance(name, str):
                    found.setdefault(" ".join(name.split()).casefold(), item["slug"])
    return found


def sections(subscriber: Subscriber) -> list[str]:
    """The sections the person chose; empty when they chose none (they get everything)."""
    value = (subscriber.attributes or {}).get(SECTIONS, [])
    return [str(item) for item in value] if isinstance(value, list) else []


def with_sections(attributes: Mapping[str, Any], chosen: Iterable[str]) -> dict[str, Any]:
    """A copy of ``attributes`` with ``chosen`` as the sections."""
    return {**attributes, SECTIONS: sorted(set(chosen))}


def record_unsubscribe(subscriber: Subscriber, list_id: int, how: str, at: dt.datetime) -> None:
    """Remember how the person left a list (the withdrawal of consent, kept with the person)."""
    attributes = dict(subscriber.attributes or {})
    left = dict(attributes.get(UNSUBSCRIBED) or {})
    left[str(list_id)] = {"how": how, "at": at.isoformat()}
    attributes[UNSUBSCRIBED] = left
    subscriber.attributes = attributes
