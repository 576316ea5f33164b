"""Data protection on the ledger's side: a person's history, erasure and retention.

``subscribers.privacy`` handles the person's own rows; this module adds what the
sends recorded about them (deliveries, the relay's replies, bounce events) and
scrubs the address out of those texts. Every change is one set-based statement:
rows are never deleted and their statuses never change, so every send's counts
stay as they were.

PostgreSQL scrubs with ``regexp_replace``; SQLite has no regular expressions, so
the same Python function is registered on its connection for the statement.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from dispatcher.models import ACTIVE_STATUSES, AuditEntry, BounceEvent, Delivery, Edition, Send
from dispatcher.sends.sql import sql
from subscribers.addresses import ANY_ADDRESS
from subscribers.errors import InputError, UnknownSubscriberError
from subscribers.orm import utcnow
from subscribers.privacy import erase_subscriber, find_person, iso, person_record
from subscribers.suppression import SuppressionReason, find_suppression

ERASED = "<erased>"


@dataclass(frozen=True)
class Erasure:
    """What erasing a person changed."""

    subscriber_id: int | None  # None: already erased earlier, nothing left to change
    subscriptions: int = 0
    deliveries: int = 0
    bounce_events: int = 0


@dataclass(frozen=True)
class Purge:
    """What a retention purge changed."""

    cutoff: dt.datetime
    deliveries: int
    bounce_events: int
    suppressions: int = 0  # details written before they were kept without addresses


def export_person(session: Session, keys: Sequence[str], email: str) -> dict[str, Any]:
    """Everything we hold about the person with this address (GDPR art. 15), JSON-ready.

    :raises UnknownSubscriberError: if nobody has this address
    """
    subscriber = find_person(session, email)
    record = person_record(session, keys, subscriber)
    record["deliveries"] = _deliveries(session, subscriber.id)
    record["bounce_events"] = _bounce_events(session, subscriber.id, subscriber.email)
    record["audit_log"] = _audit_entries(session, subscriber.email)
    return record


def erase_person(session: Session, keys: Sequence[str], email: str) -> Erasure:
    """Forget a person (GDPR art. 17): scrub the ledger's texts, anonymise their rows.

    Idempotent: an address already erased is reported as such.

    :raises UnknownSubscriberError: if nobody has the address and it was never erased
    """
    try:
        subscriber = find_person(session, email)
    except UnknownSubscriberError:
        found = find_suppression(session, keys, email)
        if found is not None and found.reason == SuppressionReason.ERASED:
            return Erasure(subscriber_id=None)
        raise
    address = subscriber.email
    params = {"id": subscriber.id, "pattern": re.escape(address), "needle": address}
    scrub = _scrubber(session, "pattern")
    deliveries = _run(
        session,
        f"UPDATE deliveries SET smtp_reply = {scrub('smtp_reply')}, message_id = NULL"
        f" WHERE {_THEIR_DELIVERIES}",  # nosec B608 - column names from this module; values bound
        params,
    )
    bounces = _run(session, _ERASE_BOUNCES.format(d=scrub("diagnostic"), s=scrub("source")), params)
    _scrub_audit_log(session, scrub, params)
    subscriptions = erase_subscriber(session, keys, subscriber)
    return Erasure(subscriber.id, subscriptions, deliveries, bounces)


# A person's ledger rows, one probe of the (send_id, subscriber_id) key per send: no
# index starts with subscriber_id (each would slow every ledger written), and
# "subscriber_id = :id" alone reads the whole ledger, a million rows a weekly send.
_THEIR_DELIVERIES = "send_id IN (SELECT id FROM sends) AND subscriber_id = :id"

# The person's own bounce events, and any unmatched one that names the address (the
# database lower-cases both sides: see has_address).
_THEIR_BOUNCES = f"""subscriber_id = :id
   OR delivery_id IN (SELECT id FROM deliveries WHERE {_THEIR_DELIVERIES})
   OR lower(diagnostic) LIKE '%' || lower(:needle) || '%'"""  # nosec B608 - constants
_ERASE_BOUNCES = "UPDATE bounce_events SET diagnostic = {d}, source = {s} WHERE " + (
    _THEIR_BOUNCES  # nosec B608 - constants of this module; values are bound
)


def purge_ledger(
    session: Session, older_than_days: int, *, now: dt.datetime | None = None
) -> Purge:
    """Remove personal data from ledger rows older than ``older_than_days`` days.

    Addresses are scrubbed out of the relay's replies and bounce diagnostics, and
    Message-IDs cleared; rows still being delivered are left alone. Counts are kept.

    :raises InputError: for a negative number of days
    """
    if older_than_days < 0:
        raise InputError("--older-than must be zero or more days")
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    params = {"cutoff": cutoff, "pattern": ANY_ADDRESS}
    scrub = _scrubber(session, "pattern", case_insensitive=False)
    active = ", ".join(f"'{status.value}'" for status in ACTIVE_STATUSES)
    purge = _PURGE_DELIVERIES.format(r=scrub("smtp_reply"), active=active)
    deliveries = _run(session, purge, params)
    bounces = _run(session, _PURGE_BOUNCES.format(d=scrub("diagnostic")), params)
    suppressions = _run(session, _PURGE_SUPPRESSIONS.format(d=scrub("detail")), params)
    return Purge(cutoff, deliveries, bounces, suppressions)


_PURGE_DELIVERIES = """
UPDATE deliveries SET smtp_reply = {r}, message_id = NULL
WHERE created_at < :cutoff AND status NOT IN ({active})
  AND (message_id IS NOT NULL OR smtp_reply LIKE '%@%')
"""
_PURGE_BOUNCES = """
UPDATE bounce_events SET diagnostic = {d}
WHERE received_at < :cutoff AND diagnostic LIKE '%@%'
"""
# Whatever their age: a suppression outlives its person, so it never holds an address.
_PURGE_SUPPRESSIONS = "UPDATE suppressions SET detail = {d} WHERE detail LIKE '%@%'"


def _run(session: Session, statement: str, params: dict[str, Any]) -> int:
    result = session.execute(sql(statement), params)
    return int(getattr(result, "rowcount", 0))


def _scrubber(
    session: Session, pattern: str, *, case_insensitive: bool = True
) -> Callable[[str], str]:
    """A function that writes the SQL replacing ``:pattern`` in a column with ``<erased>``."""
    flags = "gi" if case_insensitive else "g"
    if session.get_bind().dialect.name == "postgresql":
        return lambda column: f"regexp_replace({column}, :{pattern}, '{ERASED}', '{flags}')"
    raw = session.connection().connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        re_flags = re.IGNORECASE if case_insensitive else 0

        def replace(text: str | None, regex: str) -> str | None:
            return None if text is None else re.sub(regex, ERASED, text, flags=re_flags)

        raw.create_function("privacy_scrub", 2, replace, deterministic=True)
    return lambda column: f"privacy_scrub({column}, :{pattern})"


def _audit_detail(session: Session) -> tuple[str, str]:
    """The audit log's detail as text in SQL, and how to turn text back into it."""
    if session.get_bind().dialect.name == "postgresql":
        return "CAST(detail AS text)", "CAST({} AS json)"
    return "detail", "{}"


# The database lower-cases both sides: PostgreSQL's LIKE is case-sensitive, and an
# admin may have typed the address in any case.
_NAMES_NEEDLE = "lower({column}) LIKE '%' || lower(:needle) || '%'"


def _scrub_audit_log(session: Session, scrub: Callable[[str], str], params: dict[str, Any]) -> None:
    """The admin's audit log may quote the address in an entry's details."""
    if not inspect(session.connection()).has_table("audit_log"):
        return
    column, back = _audit_detail(session)
    where = _NAMES_NEEDLE.format(column=column)
    scrubbed = back.format(scrub(column))
    statement = f"UPDATE audit_log SET detail = {scrubbed} WHERE {where}"  # nosec B608 - constants
    _run(session, statement, params)


def _audit_entries(session: Session, address: str) -> list[dict[str, Any]]:
    """The audit log's entries that quote the address (what erasure scrubs)."""
    column, _ = _audit_detail(session)
    where = _NAMES_NEEDLE.format(column=column)
    query = f"SELECT id FROM audit_log WHERE {where} ORDER BY id"  # nosec B608 - constants
    ids = list(session.scalars(sql(query), {"needle": address}))
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.id.in_(ids)).order_by(AuditEntry.id)
    )
    return [
        {"at": iso(e.at), "user": e.username, "action": e.action, "detail": e.detail}
        for e in entries
    ]


def _deliveries(session: Session, subscriber_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Delivery, Send.edition_id, Edition.number, Edition.subject)
        .join(Send, Send.id == Delivery.send_id)
        .join(Edition, Edition.id == Send.edition_id)
        # One probe of the (send_id, subscriber_id) key per send (see _THEIR_DELIVERIES):
        # the person page reads this, and a scan of the ledger would take seconds.
        .where(Delivery.send_id.in_(select(Send.id)), Delivery.subscriber_id == subscriber_id)
        .order_by(Delivery.id)
    )
    return [
        {
            "send": d.send_id,
            "edition": {"id": edition_id, "number": number, "subject": subject},
            "list_id": d.list_id,
            "status": d.status,
            "attempts": d.attempts,
            "smtp_code": d.smtp_code,
            "smtp_reply": d.smtp_reply,
            "message_id": d.message_id,
            "created_at": iso(d.created_at),
            "first_attempt_at": iso(d.first_attempt_at),
            "last_attempt_at": iso(d.last_attempt_at),
        }
        for d, edition_id, number, subject in rows
    ]


def _bounce_events(session: Session, subscriber_id: int, address: str) -> list[dict[str, Any]]:
    """The person's bounce events, and the unmatched ones that name the address."""
    query = f"SELECT id FROM bounce_events WHERE {_THEIR_BOUNCES} ORDER BY id"  # nosec B608
    ids = list(session.scalars(sql(query), {"id": subscriber_id, "needle": address}))
    events = session.scalars(
        select(BounceEvent).where(BounceEvent.id.in_(ids)).order_by(BounceEvent.id)
    )
    return [
        {
            "kind": e.kind,
            "delivery_id": e.delivery_id,
            "list_id": e.list_id,
            "status_code": e.status_code,
            "action": e.action,
            "diagnostic": e.diagnostic,
            "source": e.source,
            "received_at": iso(e.received_at),
        }
        for e in events
    ]
