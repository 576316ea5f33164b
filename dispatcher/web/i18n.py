"""Languages of the web pages: Italian first, English available.

The language is chosen by ``?lang=``, then the ``lang`` cookie, then the
browser's Accept-Language, then Italian. The texts are gettext catalogues
(``dispatcher/locale/{it,en}/LC_MESSAGES/messages.po``) whose msgids are the
dotted keys that ``t("key")`` looks up; the ``.po`` files are read with Babel
when this module is imported. A key missing in English falls back to Italian,
never to the key. Placeholders are ``{name}``, filled by :meth:`str.format`.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

from babel.messages.pofile import read_po
from fastapi import Request

from dispatcher.resources import catalogue_file

LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"


def load_catalogue(language: str) -> dict[str, str]:
    """Key -> text of ``language``'s catalogue (entries with no text are left out).

    The ``.po`` is parsed here rather than compiled to ``.mo`` at build time: a fresh
    clone and an installed wheel then read the same file, with no build step to forget.
    """
    with catalogue_file(language).open("rb") as file:
        catalogue = read_po(file, locale=language, abort_invalid=True)
    return {
        message.id: message.string
        for message in catalogue
        if isinstance(message.id, str) and message.id and isinstance(message.string, str)
        and message.string
    }  # fmt: skip


#: Key -> text per language, read once at start-up.
CATALOGUE: dict[str, dict[str, str]] = {
    language: load_catalogue(language) for language in LANGUAGES
}


def add_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Add a module's texts (``{"it": {...}, "en": {...}}``) until they move to the catalogues.

    Kept for the texts modules written before the catalogues: ``tools/texts_to_po.py``
    moves such a module into the ``.po`` files, and then it is deleted.
    """
    for language, entries in texts.items():
        CATALOGUE.setdefault(language, {}).update(entries)


def choose_language(request: Request) -> str:
    """The language for this request."""
    asked = request.query_params.get("lang") or request.cookies.get("lang")
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def fillable(key: str, values: Mapping[str, object]) -> bool:
    """Whether ``key`` has an Italian text and ``values`` name every placeholder of it."""
    text = CATALOGUE[DEFAULT_LANGUAGE].get(key)
    if text is None:
        return False
    return all(name in values for _, name, _, _ in Formatter().parse(text) if name)


def translate(language: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``language`` (Italian if missing), with ``{name}`` filled."""
    text = CATALOGUE.get(language, {}).get(key) or CATALOGUE[DEFAULT_LANGUAGE].get(key, key)
    return text.format(**values) if values else text
