"""The shared SQLAlchemy declarative base, column conventions and status enums.

It lives in ``subscribers`` because that is the lower layer: ``dispatcher``
imports it, ``subscribers`` never imports ``dispatcher``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Big integer keys on PostgreSQL; SQLite only autoincrements a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (the database keeps UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable Alembic names)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON(),
    }


intpk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
timestamp = Annotated[dt.datetime, mapped_column(server_default=func.now(), default=utcnow)]
email_str = Annotated[str, mapped_column(String(320))]


def status_values(enum_type: type[enum.Enum]) -> str:
    """The SQL list of an enum's values, for a CHECK constraint on a plain string column."""
    return ", ".join(f"'{member.value}'" for member in enum_type)


class SubscriptionStatus(enum.StrEnum):
    """Where a person stands with one list."""

    PENDING = "pending"  # signed up, not yet confirmed (double opt-in)
    CONFIRMED = "confirmed"  # receives the list's sends
    UNSUBSCRIBED = "unsubscribed"  # left; never sent to again from this list
    BOUNCED = "bounced"  # hard bounce or too many soft ones


class ConsentEventKind(enum.StrEnum):
    """The steps of consent a :class:`~subscribers.models.ConsentEvent` records."""

    SIGNUP_REQUESTED = "signup_requested"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    PREFERENCES_CHANGED = "preferences_changed"


class ConsentSource(enum.StrEnum):
    """How a subscription's consent was given."""

    FORM = "form"
    IMPORT = "import"
    ADMIN = "admin"
