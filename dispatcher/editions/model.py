"""The validated content of one edition, as frozen values.

These objects are built by :mod:`dispatcher.editions.parse` from an edition file, and
stored as JSON through :meth:`Edition.to_dict` / :meth:`Edition.from_dict` (the round
trip is exact). They carry no validation of their own: the parser checks what people
write, and the renderer refuses unsafe links whatever their origin.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Self

from dispatcher.errors import ContentError


@dataclass(frozen=True)
class _Part:
    """A part of an edition stored as the flat mapping of its fields."""

    #: The fields a stored mapping must hold; the others have defaults.
    required: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into this part"""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a part stored with :meth:`to_dict`.

        :param data: the stored mapping
        :returns: the part
        :raises ContentError: when the mapping is not a stored part of this kind
        """
        missing = [name for name in cls.required if name not in data]
        if missing:
            raise ContentError(f"stored {cls.__name__} lacks {', '.join(missing)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ContentError(f"stored {cls.__name__} is malformed: {exc}") from exc


@dataclass(frozen=True)
class Cover(_Part):
    """The cover story: a title, a picture and the link to the full story."""

    title: str
    image: str  # https URL
    image_alt: str  # what the picture shows, for people who cannot see it
    link: str  # http(s) URL of the full story
    caption: str | None = None
    summary: str | None = None

    required: ClassVar[tuple[str, ...]] = ("title", "image", "image_alt", "link")


@dataclass(frozen=True)
class Highlight(_Part):
    """A short item on the front page, optionally with a link and a picture."""

    title: str
    link: str | None = None
    summary: str | None = None
    image: str | None = None
    image_alt: str | None = None  # present exactly when ``image`` is

    required: ClassVar[tuple[str, ...]] = ("title",)


@dataclass(frozen=True)
class Article(_Part):
    """One signed article: its title, its Markdown text and its author's initials.

    ``section`` is the slug of the newsletter section it belongs to (None: it goes to
    everyone); ``title_en`` and ``body_en`` its English version, when the edition has one.
    """

    title: str
    body: str  # Markdown, without the title line and without the initials line
    initials: str  # e.g. "a.r.a."
    section: str | None = None
    title_en: str | None = None
    body_en: str | None = None

    required: ClassVar[tuple[str, ...]] = ("title", "body", "initials")

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`_Part.to_dict`, leaving out what is unset (so older hashes hold)."""
        return {name: value for name, value in super().to_dict().items() if value is not None}


@dataclass(frozen=True)
class EnglishTexts(_Part):
    """The English texts of an edition's front matter; what is missing stays Italian.

    ``highlights`` pairs with the edition's highlights by position: each item a mapping
    of ``title``, ``summary`` and ``image_alt`` (any of them may be missing).
    """

    subject: str | None = None
    preheader: str | None = None
    cover: dict[str, str] | None = None  # title, image_alt, caption, summary
    highlights: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["highlights"] = [dict(item) for item in self.highlights]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        found = super().from_dict(data)
        return replace(found, highlights=tuple(dict(item) for item in found.highlights))


@dataclass(frozen=True)
class FrontMatter:
    """Everything an edition file's front matter says: an edition without its articles."""

    newsletter: str  # slug of the newsletter, which is also the list it goes to
    number: int
    date: datetime.date
    subject: str
    preheader: str
    cover: Cover
    highlights: tuple[Highlight, ...]
    en: EnglishTexts | None = None  # the front matter's English texts, if any

    def with_articles(self, articles: tuple[Article, ...]) -> Edition:
        """:returns: the edition made of this front matter and ``articles``"""
        front = {item.name: getattr(self, item.name) for item in fields(FrontMatter)}
        return Edition(**front, articles=articles)


@dataclass(frozen=True, kw_only=True)
class Edition(FrontMatter):
    """One issue of a newsletter, ready to be compiled."""

    articles: tuple[Article, ...]

    @property
    def sections(self) -> tuple[str, ...]:
        """The sections its articles name, sorted (empty: every article is for everyone)."""
        return tuple(sorted({a.section for a in self.articles if a.section is not None}))

    @property
    def has_english(self) -> bool:
        """Whether any of its texts has an English version."""
        return self.en is not None or any(a.title_en is not None for a in self.articles)

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into this edition"""
        data = self._dict()
        if self.en is not None:
            data["en"] = self.en.to_dict()
        return data

    def _dict(self) -> dict[str, Any]:
        return {
            "newsletter": self.newsletter,
            "number": self.number,
            "date": self.date.isoformat(),
            "subject": self.subject,
            "preheader": self.preheader,
            "cover": self.cover.to_dict(),
            "highlights": [item.to_dict() for item in self.highlights],
            "articles": [article.to_dict() for article in self.articles],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Edition:
        """Rebuild an edition stored with :meth:`to_dict`.

        :param data: the stored mapping (for example decoded from the database's JSON)
        :returns: the edition, equal to the one that was stored
        :raises ContentError: when the mapping is not a stored edition
        """
        try:
            return cls(
                newsletter=data["newsletter"],
                number=data["number"],
                date=datetime.date.fromisoformat(data["date"]),
                subject=data["subject"],
                preheader=data["preheader"],
                cover=Cover.from_dict(data["cover"]),
                highlights=tuple(Highlight.from_dict(item) for item in data["highlights"]),
                articles=tuple(Article.from_dict(item) for item in data["articles"]),
                en=EnglishTexts.from_dict(data["en"]) if data.get("en") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(f"stored edition is malformed: {exc!r}") from exc
