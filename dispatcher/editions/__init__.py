"""Editions: reading, checking and storing what one issue of a newsletter says.

An edition file is YAML front matter plus a Markdown body (:func:`load_edition`); what
stays the same from issue to issue lives in the newsletter's settings file
(:func:`load_newsletter_settings`). Both become frozen values with an exact JSON round trip.
"""

from __future__ import annotations

from dispatcher.editions.model import Article, Cover, Edition, EnglishTexts, Highlight
from dispatcher.editions.newsletter import (
    Colours,
    Logo,
    NewsletterSettings,
    Section,
    contrast_ratio,
    load_newsletter_settings,
)
from dispatcher.editions.parse import load_edition, parse_edition

__all__ = [
    "Article",
    "Colours",
    "Cover",
    "Edition",
    "EnglishTexts",
    "Highlight",
    "Logo",
    "NewsletterSettings",
    "Section",
    "contrast_ratio",
    "load_edition",
    "load_newsletter_settings",
    "parse_edition",
]
