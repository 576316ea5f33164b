"""The validated content of one edition, as frozen values.

These objects are built by :mod:`dispatcher.editions.parse` from an edition file, and
stored as JSON through :meth:`Edition.to_dict` / :meth:`Edition.from_dict` (the round
trip is exact). They carry no validation of their own: the parser checks what people
write, and the renderer refuses unsafe links whatever their origin.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from dispatcher.errors import ContentError

_T = TypeVar("_T")


@dataclass(frozen=True)
class Cover:
    """The cover story: a title, a picture and the link to the full story."""

    title: str
    image: str  # https URL
    image_alt: str  # what the picture shows, for people who cannot see it
    link: str  # http(s) URL of the full story
    caption: str | None = None
    summary: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into this cover"""
        return {
            "title": self.title,
            "image": self.image,
            "image_alt": self.image_alt,
            "link": self.link,
            "caption": self.caption,
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cover:
        """Rebuild a cover stored with :meth:`to_dict`.

        :param data: the stored mapping
        :returns: the cover
        :raises ContentError: when the mapping is not a stored cover
        """
        return _build(cls, data, required=("title", "image", "image_alt", "link"))


@dataclass(frozen=True)
class Highlight:
    """A short item on the front page, optionally with a link and a picture."""

    title: str
    link: str | None = None
    summary: str | None = None
    image: str | None = None
    image_alt: str | None = None  # present exactly when ``image`` is

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into this item"""
        return {
            "title": self.title,
            "link": self.link,
            "summary": self.summary,
            "image": self.image,
            "image_alt": self.image_alt,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Highlight:
        """Rebuild a highlight stored with :meth:`to_dict`.

        :param data: the stored mapping
        :returns: the highlight
        :raises ContentError: when the mapping is not a stored highlight
        """
        return _build(cls, data, required=("title",))


@dataclass(frozen=True)
class Article:
    """One signed article: its title, its Markdown text and its author's initials."""

    title: str
    body: str  # Markdown, without the title line and without the initials line
    initials: str  # e.g. "a.r.a."

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into this article"""
        return {"title": self.title, "body": self.body, "initials": self.initials}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Article:
        """Rebuild an article stored with :meth:`to_dict`.

        :param data: the stored mapping
        :returns: the article
        :raises ContentError: when the mapping is not a stored article
        """
        return _build(cls, data, required=("title", "body", "initials"))


@dataclass(frozen=True)
class Edition:
    """One issue of a newsletter, ready to be compiled."""

    newsletter: str  # slug of the newsletter, which is also the list it goes to
    number: int
    date: datetime.date
    subject: str
    preheader: str
    cover: Cover
    highlights: tuple[Highlight, ...]
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


def _build(cls: type[_T], data: Mapping[str, Any], *, required: tuple[str, ...]) -> _T:
    missing = [name for name in required if name not in data]
    if missing:
        raise ContentError(f"stored {cls.__name__} lacks {', '.join(missing)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ContentError(f"stored {cls.__name__} is malformed: {exc}") from exc
