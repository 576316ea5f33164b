"""The fixed words of an edition's mail, by language: what no editor writes.

The same shape as the web app's texts (``{"it": {...}, "en": {...}}``, string literals
only) so that they can move to gettext catalogues with the rest. ``{name}`` is the
newsletter's name.
"""

from __future__ import annotations

import datetime

MAIL_TEXTS = {
    "it": {
        "mail.read_online": "Leggi nel browser",
        "mail.read_article": "Leggi l'articolo",
        "mail.highlights": "IN EVIDENZA",
        "mail.number": "N.",
        "mail.why": "Ricevi questa email in seguito alla tua iscrizione a {name}.",
        "mail.unsubscribe": "Annulla l'iscrizione",
        "mail.preferences": "Preferenze",
    },
    "en": {
        "mail.read_online": "Read it in your browser",
        "mail.read_article": "Read the article",
        "mail.highlights": "HIGHLIGHTS",
        "mail.number": "No.",
        "mail.why": "You receive this email because you subscribed to {name}.",
        "mail.unsubscribe": "Unsubscribe",
        "mail.preferences": "Preferences",
    },
}

_WEEKDAYS = {
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "it": (
        "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
        "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def mail_texts(language: str) -> dict[str, str]:
    """The fixed words in ``language`` (Italian for any language without its own)."""
    return MAIL_TEXTS.get(language, MAIL_TEXTS["it"])


def date_words(day: datetime.date, language: str) -> str:
    """A date in words without the machine's locale: "venerdì 6 dicembre 2024",
    "Friday 6 December 2024"."""
    lang = language if language in _WEEKDAYS else "it"
    return f"{_WEEKDAYS[lang][day.weekday()]} {day.day} {_MONTHS[lang][day.month - 1]} {day.year}"
