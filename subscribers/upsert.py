"""The importer's set-based statements: people and their subscriptions, thousands at a time.

Each function is one statement over a chunk of rows (a JSON parameter, see
:mod:`subscribers.bulk`). Inserts use ``ON CONFLICT DO NOTHING``: a person or a
subscription that another transaction added meanwhile is left as it is, never
an error, and the caller learns which rows were really new from ``RETURNING``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, cast, exists, func, select, update
from sqlalchemy.orm import Session

from subscribers.bulk import among, dialect_of, row_set, rows_param, statement
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.orm import ConsentSource, SubscriptionStatus


class Known(NamedTuple):
    """A person already in the database, and where they stand with one list.

    A named tuple: a second import builds one for every line of the file.
    """

    id: int
    name: str
    language: str
    attributes_json: str  # the JSON text, parsed only when the file changes attributes
    status: str | None  # None: not on the list
    suppressed: bool  # a suppression row is linked to them

    @property
    def attributes(self) -> dict[str, Any]:
        value = json.loads(self.attributes_json or "{}")
        return value if isinstance(value, dict) else {}


def known_people(session: Session, list_id: int, keys: Sequence[str]) -> dict[str, Known]:
    """The people among ``keys`` (lower-cased addresses) who exist, by key."""
    email_key = func.lower(Subscriber.email)
    on_list = and_(Subscription.subscriber_id == Subscriber.id, Subscription.list_id == list_id)
    query = (
        select(
            email_key,
            Subscriber.id,
            Subscriber.name,
            Subscriber.language,
            cast(Subscriber.attributes, Text),  # as text: most rows never need it parsed
            Subscription.status,
            exists().where(Suppression.subscriber_id == Subscriber.id),
        )  # fmt: skip
        .outerjoin(Subscription, on_list)
        .where(among(email_key, keys, dialect_of(session)))
    )
    # all() fetches the rows in one call; iterating the result fetches them one by one
    return {key: Known._make(values) for key, *values in session.execute(query).all()}


def insert_people(
    session: Session, people: Sequence[dict[str, Any]], now: dt.datetime
) -> dict[str, int]:
    """Insert people (email, name, language, attributes) who are not there yet.

    :returns: the new ids by lower-cased address; people someone else inserted
        meanwhile are missing from it
    """
    source = row_set(
        {"email": "text", "name": "text", "language": "text", "attributes": "json"},
        dialect_of(session),
    )
    sql = f"""
        INSERT INTO subscribers (email, name, language, attributes, created_at)
        SELECT r.email, r.name, r.language, r.attributes, :now FROM {source} WHERE true
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING lower(email), id"""  # nosec B608 - source is row_set's, names checked
    result = session.execute(statement(sql, "now"), {"rows": rows_param(people), "now": now})
    return {key: subscriber_id for key, subscriber_id in result.all()}


def ids_by_key(session: Session, keys: Sequence[str]) -> dict[str, int]:
    email_key = func.lower(Subscriber.email)
    query = select(email_key, Subscriber.id).where(among(email_key, keys, dialect_of(session)))
    return {key: subscriber_id for key, subscriber_id in session.execute(query)}


def update_people(session: Session, people: Sequence[dict[str, Any]]) -> None:
    """Write the name, language and attributes of existing people (each row has all four)."""
    source = row_set(
        {"id": "bigint", "name": "text", "language": "text", "attributes": "json"},
        dialect_of(session),
    )
    sql = f"""
        UPDATE subscribers SET name = r.name, language = r.language, attributes = r.attributes
        FROM {source} WHERE subscribers.id = r.id"""  # nosec B608 - row_set's, names checked
    session.execute(statement(sql), {"rows": rows_param(people)})


def subscribe(
    session: Session,
    list_id: int,
    subscriber_ids: Sequence[int],
    status: SubscriptionStatus,
    now: dt.datetime,
) -> set[int]:
    """Subscribe people to a list with consent source ``import``.

    :returns: the ids that got a new subscription (the others were already on the list)
    """
    source = row_set({"id": "bigint"}, dialect_of(session))
    sql = f"""
        INSERT INTO subscriptions (list_id, subscriber_id, status, source, consented_at,
                                   confirmed_at, soft_bounces, updated_at)
        SELECT :list_id, r.id, :status, :source, :now, :confirmed_at, 0, :now
        FROM {source} WHERE true
        ON CONFLICT (list_id, subscriber_id) DO NOTHING
        RETURNING subscriber_id"""  # nosec B608 - source is row_set's, names checked
    confirmed_at = now if status is SubscriptionStatus.CONFIRMED else None
    params = {
        "rows": rows_param([{"id": i} for i in subscriber_ids]), "list_id": list_id,
        "status": status.value, "source": ConsentSource.IMPORT.value, "now": now,
        "confirmed_at": confirmed_at,
    }  # fmt: skip
    return set(session.scalars(statement(sql, "now", "confirmed_at"), params).all())


def confirm_pending(
    session: Session, list_id: int, subscriber_ids: Sequence[int], now: dt.datetime
) -> None:
    """Confirm the pending subscriptions of these people (the office vouches for them)."""
    session.execute(
        update(Subscription)
        .where(
            Subscription.list_id == list_id,
            among(Subscription.subscriber_id, subscriber_ids, dialect_of(session)),
            Subscription.status == SubscriptionStatus.PENDING.value,
        )
        .values(status=SubscriptionStatus.CONFIRMED.value, confirmed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
