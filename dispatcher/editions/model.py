"""The validated content of one edition, as frozen values.

These objects are built by :mod:`dispatcher.editions.parse` from an edition file, and
stored as JSON through :meth:`Edition.to_dict` / :meth:`Edition.from_dict` (the round
trip is exact). They carry no validation of their own: the parser checks what people
write, and the renderer refuses unsafe links whatever their origin.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, fields
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
    """One signed article: its title, its Markdown text and its author's initials."""

    title: str
    body: str  # Markdown, without the title line and without the initials line
    initials: str  # e.g. "a.r.a."

    required: ClassVar[tuple[str, ...]] = ("title", "body", "initials")


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

    def with_articles(self, articles: tuple[Article, ...]) -> Edition:
        """:returns: the edition made of this front matter and ``articles``"""
        front = {item.name: getattr(self, item.name) for item in fields(FrontMatter)}
        return Edition(**front, articles=articles)


@dataclass(frozen=True)
class Edition(FrontMatter):
    """One issue of a newsletter, ready to be compiled."""

    articles: tuple[Article, ...]

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into this edition"""
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
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(f"stored edition is malformed: {exc!r}") from exc
