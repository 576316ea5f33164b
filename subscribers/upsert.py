"""The importer's set-based statements: people and their subscriptions, thousands at a time.

Each function is one statement over a chunk of rows (a JSON parameter, see
:mod:`subscribers.bulk`). Inserts use ``ON CONFLICT DO NOTHING``: a person or a
subscription that another transaction added meanwhile is left as it is, never
an error, and the caller learns which rows were really new from ``RETURNING``.
The one exception, on PostgreSQL, is the subscriptions of people inserted by the
same statement (:func:`add_new_people`), which nobody else can have made.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from subscribers.bulk import among, dialect_of, row_set, rows_param, statement
from subscribers.models import Subscription
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


def known_people(session: Session, list_id: int, people: Mapping[str, str]) -> dict[str, Known]:
    """The people who exist among ``people`` (address key -> address as written), by key.

    The database says who is the same person (its ``lower(email)``, on which the unique
    index is): Python's ``lower()`` differs from PostgreSQL's on some letters ("İ"),
    and SQLite's lower-cases ASCII only.
    """
    query = _KNOWN_PG if dialect_of(session) == "postgresql" else _KNOWN_SQLITE
    params = {"people": json.dumps(people, ensure_ascii=False), "list_id": list_id}
    # all() fetches the rows in one call; iterating the result fetches them one by one
    rows = session.execute(text(query), params).all()
    return {key: Known._make(values) for key, *values in rows}


def ids_by_key(session: Session, people: Mapping[str, str]) -> dict[str, int]:
    """The ids of the people who exist among ``people`` (key -> address), by key."""
    query = _IDS_PG if dialect_of(session) == "postgresql" else _IDS_SQLITE
    params = {"people": json.dumps(people, ensure_ascii=False)}
    return {key: subscriber_id for key, subscriber_id in session.execute(text(query), params)}


# One index probe per person, whatever the planner believes about the tables' sizes. With
# ``lower(email) IN (keys)`` it hashed the keys and scanned the whole table: psycopg
# prepares a statement run often, and PostgreSQL then keeps one generic plan, made on the
# sizes the tables had at the time (still being filled by this very import, never
# analysed), so each chunk scanned more rows than the last: 0.35 s of a 100,000-line first
# import, 0.9 s of a re-import (0.1 s and 0.35 s now). A LATERAL subquery fenced by
# OFFSET 0 can only be joined by a nested loop, and its equality on the unique index's
# expression is an index scan; the status, a scalar subquery, is likewise probed per person.
_PERSON_BY_ADDRESS_PG = """
    FROM json_each_text(CAST(:people AS json)) AS k
    CROSS JOIN LATERAL (
        SELECT id, name, language, attributes FROM subscribers
        WHERE lower(email) = lower(k.value) OFFSET 0
    ) AS s"""
_PERSON_BY_ADDRESS_SQLITE = """
    FROM json_each(:people) AS k JOIN subscribers AS s ON lower(s.email) = lower(k.value)"""
_KNOWN_COLUMNS = """
    SELECT k.key, s.id, s.name, s.language, CAST(s.attributes AS text),
           (SELECT m.status FROM subscriptions AS m
            WHERE m.list_id = :list_id AND m.subscriber_id = s.id),
           EXISTS (SELECT 1 FROM suppressions AS x WHERE x.subscriber_id = s.id)"""
_KNOWN_PG = _KNOWN_COLUMNS + _PERSON_BY_ADDRESS_PG
_KNOWN_SQLITE = _KNOWN_COLUMNS + _PERSON_BY_ADDRESS_SQLITE
_IDS_PG = "SELECT k.key, s.id" + _PERSON_BY_ADDRESS_PG
_IDS_SQLITE = "SELECT k.key, s.id" + _PERSON_BY_ADDRESS_SQLITE


_PERSON_COLUMNS = {"email": "text", "name": "text", "language": "text", "attributes": "json"}


def insert_people(
    session: Session, people: Sequence[dict[str, Any]], now: dt.datetime
) -> dict[str, int]:
    """Insert people (email, name, language, attributes) who are not there yet.

    :returns: the new ids by address as given; people someone else inserted meanwhile
        are missing from it
    """
    source = row_set(_PERSON_COLUMNS, dialect_of(session))
    sql = f"""
        INSERT INTO subscribers (email, name, language, attributes, created_at)
        SELECT r.email, r.name, r.language, r.attributes, :now FROM {source} WHERE true
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING email, id"""  # nosec B608 - source is row_set's, names checked
    result = session.execute(statement(sql, "now"), {"rows": rows_param(people), "now": now})
    return {email: subscriber_id for email, subscriber_id in result.all()}


class NewPeople(NamedTuple):
    """The parameters of :func:`add_new_people`, made by :func:`new_people` (pure, no query)."""

    rows: str
    digests: str


def new_people(people: Sequence[dict[str, Any]], digests: Mapping[str, str]) -> NewPeople:
    """People to add, as :func:`add_new_people` takes them.

    :param people: rows with key (lower-cased address), email, name, language, attributes
    :param digests: their suppression digests (:func:`subscribers.suppression.digests_of`)
    """
    return NewPeople(rows_param(people), json.dumps(digests))


def add_new_people(
    session: Session,
    list_id: int,
    people: NewPeople,
    status: SubscriptionStatus,
    now: dt.datetime,
) -> dict[str, int]:
    """Insert those of ``people`` neither there yet nor suppressed, and subscribe them to a list.

    PostgreSQL only: one statement (see :data:`_ADD_NEW_PEOPLE_PG`) does what
    :func:`insert_people` and :func:`subscribe` do, a round trip less per chunk.

    :returns: the new ids by address as given, each with a new subscription; people
        someone else inserted meanwhile, and the suppressed, are missing from it
    """
    params = {
        "rows": people.rows, "digests": people.digests, "list_id": list_id,
        "status": status.value, "source": ConsentSource.IMPORT.value, "now": now,
        "confirmed_at": _confirmed_at(status, now),
    }  # fmt: skip
    result = session.execute(statement(_ADD_NEW_PEOPLE_PG, "now", "confirmed_at"), params)
    return {email: subscriber_id for email, subscriber_id in result.all()}


# The subscriptions are those of the people the first INSERT has just made (its RETURNING:
# the main query and a sibling would not see the new rows). They need no ON CONFLICT, which
# costs a speculative insertion, an index probe and a WAL record per row: until this
# transaction commits nobody else can see these people, so no other transaction can have
# subscribed them (its foreign key check would not find them), and their ids are fresh
# from the sequence, so this one has not either. The people keep ON CONFLICT: another
# transaction may add the same address at any time.
_ADD_NEW_PEOPLE_PG = f"""
    WITH suppressed AS (
        SELECT d.value AS key FROM json_each_text(CAST(:digests AS json)) AS d
        JOIN suppressions ON suppressions.email_hmac = d.key
    ), person AS (
        INSERT INTO subscribers (email, name, language, attributes, created_at)
        SELECT r.email, r.name, r.language, r.attributes, :now
        FROM {row_set({"key": "text", **_PERSON_COLUMNS}, "postgresql")}
        WHERE r.key NOT IN (SELECT key FROM suppressed)
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING email, id
    ), subscribed AS (
        INSERT INTO subscriptions (list_id, subscriber_id, status, source, consented_at,
                                   confirmed_at, soft_bounces, updated_at)
        SELECT :list_id, person.id, :status, :source, :now, :confirmed_at, 0, :now FROM person
    )
    SELECT email, id FROM person"""  # nosec B608 - row_set's, names checked


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
    params = {
        "rows": rows_param([{"id": i} for i in subscriber_ids]), "list_id": list_id,
        "status": status.value, "source": ConsentSource.IMPORT.value, "now": now,
        "confirmed_at": _confirmed_at(status, now),
    }  # fmt: skip
    return set(session.scalars(statement(sql, "now", "confirmed_at"), params).all())


def _confirmed_at(status: SubscriptionStatus, now: dt.datetime) -> dt.datetime | None:
    return now if status is SubscriptionStatus.CONFIRMED else None


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
