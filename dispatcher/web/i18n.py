"""Languages of the public pages: Italian first, English available.

The language is chosen by ``?lang=``, then the ``lang`` cookie, then the
browser's Accept-Language, then Italian. Texts live in one catalogue per
language; a key missing in English falls back to Italian, never to the key.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"

CATALOGUE: dict[str, dict[str, str]] = {
    "it": {
        "site.title": "Newsletter della Città metropolitana di Torino",
        "site.skip": "Vai al contenuto",
        "site.language": "Lingua",
        "error.title": "Qualcosa non va",
        "error.not_found": "La pagina che cerchi non esiste.",
        "error.bad_request": "La richiesta non è valida.",
        "error.fields": "Campi da correggere: {fields}.",
        "error.invalid_link": "Questo link non è valido o è scaduto.",
        "error.server": "Si è verificato un errore. Riprova tra qualche minuto.",
        "error.too_many": "Troppe richieste. Riprova tra qualche minuto.",
        "error.forbidden": "Non hai accesso a questa pagina.",
        "error.login_required": "La sessione è scaduta: accedi di nuovo e ripeti l'operazione.",
        "error.home": "Torna alla pagina iniziale",
    },
    "en": {
        "site.title": "Newsletters of the Metropolitan City of Turin",
        "site.skip": "Skip to content",
        "site.language": "Language",
        "error.title": "Something is wrong",
        "error.not_found": "The page you are looking for does not exist.",
        "error.bad_request": "The request is not valid.",
        "error.fields": "Fields to correct: {fields}.",
        "error.invalid_link": "This link is not valid or has expired.",
        "error.server": "Something went wrong. Please try again in a few minutes.",
        "error.too_many": "Too many requests. Please try again in a few minutes.",
        "error.forbidden": "You do not have access to this page.",
        "error.login_required": "Your session has ended: log in again and repeat the action.",
        "error.home": "Back to the home page",
    },
}


def add_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Add a router's own texts to the catalogue (``{"it": {...}, "en": {...}}``)."""
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


def translate(language: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``language`` (Italian if missing), with ``{name}`` filled."""
    text = CATALOGUE.get(language, {}).get(key) or CATALOGUE[DEFAULT_LANGUAGE].get(key, key)
    return text.format(**values) if values else text
