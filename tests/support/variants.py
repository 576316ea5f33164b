"""An edition with sections and English texts, and readers who get different variants of it."""

from __future__ import annotations

from tests.support.data import EDITION_HEAD

EDITION = (
    EDITION_HEAD
    + """\
highlights:
  - title: In evidenza questa settimana
    link: https://example.org/evidenza
en:
  subject: Subject of the week
  cover:
    title: Cover story
  highlights:
    - title: Highlighted this week
---

## Notizie per tutti

Un articolo senza sezione: arriva a tutti.

a.r.a.

## [en] News for everyone

An article without a section: everyone gets it.

a.r.a.

## Parchi e fiumi
sezione: ambiente

Un articolo della sezione ambiente.

b.c.d.

## Nuovi posti di lavoro
sezione: lavoro

Un articolo della sezione lavoro.

e.f.g.

## [en] New jobs

An article of the work section.

e.f.g.

## Teatri aperti
sezione: cultura

Un articolo della sezione cultura.

h.i.l.
"""
)

# reader index -> (language, sections chosen, the variant they get)
READERS = {
    0: ("it", None, "it"),
    1: ("en", ["ambiente"], "en:ambiente"),
    2: ("it", ["cultura", "lavoro"], "it:cultura+lavoro"),
    3: ("en", [], "en"),
    4: ("it", ["lavoro", "cultura"], "it:cultura+lavoro"),
    5: ("fr", ["territorio"], "it:-"),  # no article of theirs; French reads Italian
    6: ("it", ["ambiente", "cultura", "lavoro", "territorio"], "it"),
}
# variant -> the article titles its text part holds
ARTICLES = {
    "it": {"Notizie per tutti", "Parchi e fiumi", "Nuovi posti di lavoro", "Teatri aperti"},
    "en": {"News for everyone", "Parchi e fiumi", "New jobs", "Teatri aperti"},
    "en:ambiente": {"News for everyone", "Parchi e fiumi"},
    "it:cultura+lavoro": {"Notizie per tutti", "Nuovi posti di lavoro", "Teatri aperti"},
    "it:-": {"Notizie per tutti"},
}
ALL_TITLES = set().union(*ARTICLES.values())
