"""Lists, subscribers, subscriptions and the suppression list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from subscribers.orm import (
    Base,
    BigId,
    ConsentSource,
    SubscriptionStatus,
    email_str,
    intpk,
    status_values,
    timestamp,
)


class MailingList(Base):
    """A list people subscribe to; a newsletter is a list with newsletter settings.

    ``settings`` holds what belongs to the newsletter rather than one edition
    (From, Reply-To, List-Id, masthead, colours, legal footer) as JSON, loaded
    from the newsletter's TOML file.
    """

    __tablename__ = "lists"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The weekly slot proposed for sends (e.g. Friday 10:00), kept as local time and
    # zone so that it does not move when summer time starts or ends.
    weekly_weekday: Mapped[int | None]  # 0 = Monday ... 6 = Sunday
    weekly_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    timezone: Mapped[str] = mapped_column(
        String(64), default="Europe/Rome", server_default="Europe/Rome"
    )
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"MailingList(id={self.id!r}, slug={self.slug!r})"


class Subscriber(Base):
    """A person, known by one address; attributes hold name, language, sections and the like."""

    __tablename__ = "subscribers"
    __table_args__ = (
        Index("uq_subscribers_email_lower", func.lower("email"), unique=True),
        # The admin's prefix search (LIKE 'x%'): on PostgreSQL a btree serves LIKE only
        # with text_pattern_ops, whatever the database's collation (migration 0013).
        Index(
            "ix_subscribers_email_prefix",
            func.lower(text("email")).label("email_prefix"),
            postgresql_ops={"email_prefix": "text_pattern_ops"},
        ),
        Index(
            "ix_subscribers_name_prefix",
            func.lower(text("name")).label("name_prefix"),
            postgresql_ops={"name_prefix": "text_pattern_ops"},
        ),
    )

    id: Mapped[intpk]
    email: Mapped[email_str]
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="it")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[timestamp]
    erased_at: Mapped[dt.datetime | None]

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="subscriber")

    def __repr__(self) -> str:
        return f"Subscriber(id={self.id!r})"  # no address: reprs end up in logs


def has_address(email: str) -> ColumnElement[bool]:
    """Whether a subscriber's address is ``email``, whatever its case.

    The database lower-cases both sides, as its unique index does: Python's
    ``lower()`` differs from PostgreSQL's on some letters ("İ"), and SQLite's
    lower-cases ASCII only.
    """
    return func.lower(Subscriber.email) == func.lower(email.strip())


class Subscription(Base):
    """One person on one list, with the record of their consent."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("list_id", "subscriber_id"),
        CheckConstraint(f"status IN ({status_values(SubscriptionStatus)})", name="status"),
        CheckConstraint(f"source IN ({status_values(ConsentSource)})", name="source"),
        Index("ix_subscriptions_subscriber", "subscriber_id"),
    )

    id: Mapped[intpk]
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.PENDING.value)
    source: Mapped[str] = mapped_column(String(16), default=ConsentSource.ADMIN.value)
    consent_ip: Mapped[str | None] = mapped_column(String(64))
    privacy_version: Mapped[str | None] = mapped_column(String(64))
    consented_at: Mapped[timestamp]
    confirmed_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]
    soft_bounces: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[timestamp]

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship()

    def __repr__(self) -> str:
        return (
            f"Subscription(id={self.id!r}, list_id={self.list_id!r}, "
            f"subscriber_id={self.subscriber_id!r}, status={self.status!r})"
        )


class SignupRequest(Base):
    """A sign-up to one list waiting for its confirmation, with what the form carried.

    Anyone can type anyone's address into a sign-up form, so nothing here is applied
    to the person (name, language, the subscription's consent record) until the
    confirmation link of this very request is used; the link names the request, so
    an old link never applies a later request's data. ``confirmed_at`` marks a
    request used. Requests older than the link's life are deleted.
    """

    __tablename__ = "signup_requests"

    id: Mapped[intpk]
    subscriber_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="it")
    # The sections chosen on the form (None: none offered or none ticked: left as they are).
    sections: Mapped[list[str] | None] = mapped_column(JSON)
    consent_ip: Mapped[str | None] = mapped_column(String(64))
    privacy_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[timestamp] = mapped_column(index=True)
    confirmed_at: Mapped[dt.datetime | None]

    mailing_list: Mapped[MailingList] = relationship()

    def __repr__(self) -> str:
        return (
            f"SignupRequest(id={self.id!r}, subscriber_id={self.subscriber_id!r}, "
            f"list_id={self.list_id!r})"
        )


class ConsentEvent(Base):
    """One step of a person's consent, appended and never changed: the history the
    privacy notice promises (who asked, when, from which IP, how, under which notice).

    ``event`` is one of :class:`~subscribers.orm.ConsentEventKind`; ``source`` how it
    came (form, import, admin, or the way of leaving). Erasing the person deletes
    their events (the foreign key cascades): only counts outlive them.
    """

    __tablename__ = "consent_events"

    id: Mapped[intpk]
    subscriber_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("lists.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    privacy_version: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return (
            f"ConsentEvent(id={self.id!r}, subscriber_id={self.subscriber_id!r}, "
            f"event={self.event!r})"
        )


class Suppression(Base):
    """An address never to send to again, whatever its subscriptions say.

    ``email_hmac`` is an HMAC of the lower-cased address, so an erased person's
    address is not kept while a later import still recognises it.
    """

    __tablename__ = "suppressions"

    id: Mapped[intpk]
    email_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    # Set while the person is still in the database, so sends can exclude them in SQL.
    subscriber_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[timestamp]

    def __repr__(self) -> str:
        return f"Suppression(id={self.id!r}, reason={self.reason!r})"
