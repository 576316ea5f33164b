"""Consent, the suppression list, a person's data, erasure and retention, on real databases.

Erasure is checked the strict way: the whole database is dumped as text and the
address must not appear in it anywhere, in any case, while every ledger count
stays what it was.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.models import BounceEvent, Delivery, Edition, Send
from dispatcher.office.privacy import ERASED, erase_person, export_person, purge_ledger
from subscribers import consent
from subscribers.errors import SubscriptionStateError, UnknownSubscriberError
from subscribers.importer import import_csv
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.orm import utcnow
from subscribers.privacy import iso
from subscribers.service import create_list
from subscribers.suppression import (
    SuppressionReason,
    counts_by_reason,
    email_hmac,
    find_suppression,
    is_suppressed,
    lift,
    suppress,
)
from tests.conftest import SECRET

KEYS = (SECRET,)
ADDRESS = "Nicolo.Bianchi@example.org"  # as stored: the domain is normalised
Sessions = sessionmaker[Session]


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> tuple[Sessions, str]:
    """Sessions with two lists, and the database URL (for the dump)."""
    if request.param == "postgresql":
        factory, url = request.getfixturevalue("pg_sessions"), request.getfixturevalue("pg_url")
    else:
        factory, url = (
            request.getfixturevalue("sqlite_sessions"),
            request.getfixturevalue("sqlite_url"),
        )
    with factory.begin() as session:
        create_list(session, "cronache", "Cronache da Palazzo Cisterna")
        create_list(session, "eventi", "Eventi")
    return factory, url


@pytest.fixture
def sessions(db: tuple[Sessions, str]) -> Sessions:
    return db[0]


def signup(sessions: Sessions, email: str = ADDRESS, list_id: int = 1) -> Subscription:
    with sessions.begin() as session:
        return consent.request_signup(
            session, list_id, email, "Nicolò Bianchi", ip="203.0.113.7", privacy_version="v3"
        ).subscription


def history(sessions: Sessions, subscriber_id: int, old: bool = False) -> None:
    """Two sends to the person, with the relay's replies and a bounce that name the address."""
    at = utcnow() - dt.timedelta(days=400 if old else 1)
    with sessions.begin() as session:
        edition = Edition(
            list_id=1, number=1, issue_date=at.date(), subject="Cronache n. 1", source_name="e.md",
            source="", content={}, content_hash="h", html="", text="", compiled_hash="h",
        )  # fmt: skip
        session.add(edition)
        session.flush()
        for number, status in enumerate(("sent", "bounced")):
            send = Send(edition_id=edition.id, scheduled_at=at, state="finished")
            session.add(send)
            session.flush()
            delivery = Delivery(
                send_id=send.id, subscriber_id=subscriber_id, list_id=1, status=status,
                attempts=1, smtp_code=250 if status == "sent" else 550, created_at=at,
                smtp_reply=f"2.0.0 Ok: queued for <{ADDRESS.upper()}> as 4XyZ{number}",
                message_id=f"<{number}.tok@newsletter.example.org>", last_attempt_at=at,
            )  # fmt: skip
            session.add(delivery)
            session.flush()
        session.add(
            BounceEvent(
                kind="hard", delivery_id=delivery.id, subscriber_id=subscriber_id, list_id=1,
                status_code="5.1.1", received_at=at, source="verp",
                diagnostic=f"550 5.1.1 <{ADDRESS.lower()}>: Recipient address rejected",
            )
        )  # fmt: skip
        session.add(
            BounceEvent(
                kind="hard", received_at=at, source="unmatched",
                diagnostic=f"{ADDRESS}: mailbox unavailable; other@example.net: ok",
            )
        )  # fmt: skip


def dump(url: str) -> str:
    """Every row of every table, as text."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(url).database or "")
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    parsed = make_url(url)
    command = [
        "pg_dump", "--data-only", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
        "-U", parsed.username or "postgres", parsed.database or "",
    ]  # fmt: skip
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def status_counts(sessions: Sessions) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(Delivery.status)))


# --- consent -----------------------------------------------------------------------------------


def test_signup_is_pending_with_its_consent_record(sessions: Sessions) -> None:
    subscription = signup(sessions)
    assert (subscription.status, subscription.source) == ("pending", "form")
    assert (subscription.consent_ip, subscription.privacy_version) == ("203.0.113.7", "v3")
    assert subscription.confirmed_at is None
    with sessions() as session:
        person = session.get_one(Subscriber, subscription.subscriber_id)
        # The name waits in the sign-up request until the address's owner confirms it.
        assert (person.email, person.name, person.language) == (ADDRESS, "", "it")


def test_confirm_is_idempotent_and_a_second_signup_keeps_confirmed(sessions: Sessions) -> None:
    subscription = signup(sessions)
    with sessions.begin() as session:
        first = consent.confirm(session, KEYS, subscription.subscriber_id, 1).confirmed_at
    with sessions.begin() as session:
        again = consent.confirm(session, KEYS, subscription.subscriber_id, 1)
        assert (again.status, iso(again.confirmed_at)) == ("confirmed", iso(first))
    assert signup(sessions, ADDRESS.upper()).status == "confirmed"


def test_unsubscribe_is_idempotent_and_records_how(sessions: Sessions) -> None:
    subscription = signup(sessions)
    with sessions.begin() as session:
        left = consent.unsubscribe(session, subscription.subscriber_id, 1, how="one-click")
        assert left is not None and left.status == "unsubscribed"
        when = left.unsubscribed_at
    with sessions.begin() as session:
        again = consent.unsubscribe(session, subscription.subscriber_id, 1, how="link")
        assert again is not None and iso(again.unsubscribed_at) == iso(when)
        assert consent.unsubscribe(session, subscription.subscriber_id, 2, how="link") is None
        attributes = session.get_one(Subscriber, subscription.subscriber_id).attributes
        assert attributes["unsubscribed"]["1"]["how"] == "one-click"
        with pytest.raises(SubscriptionStateError):
            consent.confirm(session, KEYS, subscription.subscriber_id, 1)
    # Signing up again keeps the withdrawal on record until the new request is confirmed.
    reopened = signup(sessions)
    assert (reopened.status, iso(reopened.unsubscribed_at)) == ("unsubscribed", iso(when))


def test_confirm_of_someone_not_on_the_list_is_refused(sessions: Sessions) -> None:
    with sessions.begin() as session, pytest.raises(UnknownSubscriberError):
        consent.confirm(session, KEYS, 999, 1)


# --- suppression list --------------------------------------------------------------------------


def test_suppression_is_keyed_case_insensitive_and_linked(sessions: Sessions) -> None:
    subscription = signup(sessions)
    with sessions.begin() as session:
        row = suppress(session, KEYS, ADDRESS.upper(), SuppressionReason.HARD_BOUNCE, "5.1.1")
        assert row.email_hmac == email_hmac(SECRET, ADDRESS.lower())
        assert row.subscriber_id == subscription.subscriber_id
        assert is_suppressed(session, KEYS, f"  {ADDRESS.lower()} ")
        assert not is_suppressed(session, KEYS, "someone.else@example.org")
        assert counts_by_reason(session) == {"hard_bounce": 1}
        assert lift(session, KEYS, ADDRESS) and not lift(session, KEYS, ADDRESS)


def test_suppression_survives_key_rotation(sessions: Sessions) -> None:
    with sessions.begin() as session:
        suppress(session, ("old-key",), ADDRESS, SuppressionReason.MANUAL)
    rotated = ("new-key", "old-key")
    with sessions.begin() as session:
        assert find_suppression(session, rotated, ADDRESS) is not None
        suppress(session, rotated, ADDRESS, SuppressionReason.COMPLAINT)
    with sessions() as session:
        rows = session.scalars(select(Suppression)).all()
        assert [(r.email_hmac, r.reason) for r in rows] == [
            (email_hmac("new-key", ADDRESS), "complaint")
        ]


# --- export-person -------------------------------------------------------------------------------


def test_export_person_has_everything_we_hold(sessions: Sessions) -> None:
    subscription = signup(sessions)
    history(sessions, subscription.subscriber_id)
    with sessions() as session:
        record = export_person(session, KEYS, ADDRESS.lower())
    json.dumps(record)  # JSON-ready
    assert record["subscriber"]["email"] == ADDRESS
    assert record["subscriptions"][0]["list"] == "cronache"
    assert record["subscriptions"][0]["consent"]["ip"] == "203.0.113.7"
    assert record["subscriptions"][0]["consent"]["privacy_version"] == "v3"
    assert [d["status"] for d in record["deliveries"]] == ["sent", "bounced"]
    assert record["deliveries"][0]["edition"]["subject"] == "Cronache n. 1"
    assert ADDRESS.upper() in record["deliveries"][0]["smtp_reply"]
    assert record["bounce_events"][0]["status_code"] == "5.1.1"
    assert record["suppression"] is None


# --- erasure -------------------------------------------------------------------------------------


def test_erase_removes_the_address_everywhere_and_keeps_counts(db: tuple[Sessions, str]) -> None:
    sessions, url = db
    subscription = signup(sessions)
    signup(sessions, list_id=2)
    history(sessions, subscription.subscriber_id)
    assert ADDRESS.lower() in dump(url).lower()
    before = status_counts(sessions)
    with sessions.begin() as session:
        done = erase_person(session, KEYS, ADDRESS.upper())
    assert (done.subscriptions, done.deliveries, done.bounce_events) == (2, 2, 2)
    text = dump(url)
    assert ADDRESS.lower() not in text.lower()
    assert "Nicolò" not in text and "203.0.113.7" not in text
    assert "other@example.net" in text  # someone else's address is not ours to erase
    assert status_counts(sessions) == before
    with sessions() as session:
        person = session.get_one(Subscriber, subscription.subscriber_id)
        assert person.email == f"erased-{person.id}@invalid" and person.erased_at is not None
        assert (person.name, person.attributes) == ("", {})
        statuses = {s.status for s in session.scalars(select(Subscription))}
        assert statuses == {"unsubscribed"}
        replies = session.scalars(select(Delivery.smtp_reply)).all()
        assert all(ERASED in (reply or "") for reply in replies)
        assert session.scalars(select(Delivery.message_id)).all() == [None, None]
        row = find_suppression(session, KEYS, ADDRESS)
        assert row is not None and (row.reason, row.subscriber_id) == ("erased", None)


def test_after_erasure_imports_refuse_but_a_new_web_consent_works(
    sessions: Sessions, tmp_path: Path
) -> None:
    signup(sessions)
    with sessions.begin() as session:
        erase_person(session, KEYS, ADDRESS)
    with sessions.begin() as session:
        assert erase_person(session, KEYS, ADDRESS).subscriber_id is None  # idempotent
    path = tmp_path / "people.csv"
    path.write_text(f"email\n{ADDRESS.lower()}\n")
    with sessions.begin() as session:
        report = import_csv(session, path, "cronache", keys=KEYS)
    assert [(n.line, n.reason) for n in report.skipped] == [(2, "suppressed")]
    assert "erased" in report.skipped[0].detail
    fresh = signup(sessions)
    with sessions.begin() as session:
        assert consent.confirm(session, KEYS, fresh.subscriber_id, 1).status == "confirmed"
        assert not is_suppressed(session, KEYS, ADDRESS)


def test_erasing_an_unknown_address_says_so(sessions: Sessions) -> None:
    with sessions.begin() as session, pytest.raises(UnknownSubscriberError):
        erase_person(session, KEYS, "nobody@example.org")


# --- retention -----------------------------------------------------------------------------------


def test_purge_scrubs_old_rows_only_and_keeps_counts(sessions: Sessions) -> None:
    old = signup(sessions)
    history(sessions, old.subscriber_id, old=True)
    recent = signup(sessions, "recent@example.org")
    with sessions.begin() as session:
        session.add(
            Delivery(send_id=1, subscriber_id=recent.subscriber_id, list_id=1, status="sent",
                     smtp_reply="250 ok <recent@example.org>", message_id="<r@x>")
        )  # fmt: skip
    before = status_counts(sessions)
    with sessions.begin() as session:
        done = purge_ledger(session, 365)
    assert (done.deliveries, done.bounce_events) == (2, 2)
    with sessions() as session:
        rows = {d.subscriber_id: d for d in session.scalars(select(Delivery).order_by(Delivery.id))}
        replies = session.scalars(select(Delivery.smtp_reply).order_by(Delivery.id)).all()
        diagnostics = session.scalars(select(BounceEvent.diagnostic)).all()
    assert replies[:2] == [
        "2.0.0 Ok: queued for <<erased>> as 4XyZ0",
        "2.0.0 Ok: queued for <<erased>> as 4XyZ1",
    ]
    assert rows[recent.subscriber_id].message_id == "<r@x>"
    assert all("@" not in text for text in diagnostics)
    assert status_counts(sessions) == before
    with sessions.begin() as session:
        assert purge_ledger(session, 365).deliveries == 0  # nothing left to purge


# --- the command line ----------------------------------------------------------------------------


def test_cli_person_export_erase_and_suppressions(
    invoke: Callable[..., Any], pg_sessions: Sessions
) -> None:
    subscription = signup(pg_sessions)
    history(pg_sessions, subscription.subscriber_id)
    exported = invoke("subscribers", "export-person", ADDRESS)
    assert exported.exit_code == 0
    assert json.loads(exported.stdout)["signup_requests"][0]["name"] == "Nicolò Bianchi"
    erased = invoke("subscribers", "erase", ADDRESS, "--yes")
    assert erased.exit_code == 0 and "2 deliveries and 2 bounce events scrubbed" in erased.stdout
    assert invoke("subscribers", "export-person", ADDRESS).exit_code == 1
    assert invoke("suppressions", "add", "spam@example.org", "--reason", "complaint").exit_code == 0
    listed = invoke("suppressions", "list").stdout
    assert "complaint\t1" in listed and "erased\t1" in listed and "total\t2" in listed
    assert "suppressed: complaint" in invoke("suppressions", "check", "SPAM@example.org").stdout
    assert "removed" in invoke("suppressions", "remove", "spam@example.org").stdout
    assert "not suppressed" in invoke("suppressions", "check", "spam@example.org").stdout


def test_cli_purge_uses_the_retention_setting(
    invoke: Callable[..., Any], pg_sessions: Sessions
) -> None:
    history(pg_sessions, signup(pg_sessions).subscriber_id, old=True)  # 400 days ago
    longer = invoke("privacy", "purge", "--older-than", "500")
    assert longer.exit_code == 0 and "0 deliveries, 0 bounce events" in longer.stdout
    default = invoke("privacy", "purge")  # LEDGER_RETENTION_DAYS, 365 by default
    assert default.exit_code == 0 and "2 deliveries, 2 bounce events" in default.stdout


# --- what erasure touches, export shows; mixed case; suppression details ---------------------


def _audit_entry_naming(sessions: Sessions, typed: str) -> None:
    from dispatcher.models import AuditEntry

    with sessions.begin() as session:
        detail = {"email": typed, "note": f"iscritto a mano: {typed}"}
        session.add(AuditEntry(username="anna", action="subscriber.add", detail=detail))


def test_erasure_finds_the_address_in_the_audit_log_whatever_its_case(
    db: tuple[Sessions, str],
) -> None:
    sessions, url = db
    subscription = signup(sessions)
    history(sessions, subscription.subscriber_id)
    _audit_entry_naming(sessions, "NICOLO.Bianchi@Example.ORG")
    with sessions.begin() as session:
        erase_person(session, KEYS, ADDRESS)
    assert ADDRESS.lower() not in dump(url).lower()


def test_a_hard_bounce_suppression_keeps_no_address(db: tuple[Sessions, str]) -> None:
    sessions, _ = db
    diagnostic = f"smtp; 550 5.1.1 <{ADDRESS.lower()}>: Recipient address rejected"
    with sessions.begin() as session:
        suppress(session, KEYS, ADDRESS, SuppressionReason.HARD_BOUNCE, diagnostic)
    with sessions() as session:
        detail = session.scalars(select(Suppression.detail)).one()
    assert ADDRESS.lower() not in detail.lower()
    assert "550 5.1.1 <<address>>: Recipient address rejected" in detail


def test_export_person_shows_everything_erasure_would_touch(sessions: Sessions) -> None:
    subscription = signup(sessions)
    history(sessions, subscription.subscriber_id)
    _audit_entry_naming(sessions, ADDRESS.upper())
    with sessions.begin() as session:
        suppress(session, KEYS, ADDRESS, SuppressionReason.MANUAL, "chiesto al telefono")
    with sessions() as session:
        record = export_person(session, KEYS, ADDRESS)
    sources = [event["source"] for event in record["bounce_events"]]
    assert sources == ["verp", "unmatched"]  # the unmatched one names the address
    assert [entry["action"] for entry in record["audit_log"]] == ["subscriber.add"]
    assert record["audit_log"][0]["detail"]["email"] == ADDRESS.upper()
    assert record["suppression"]["detail"] == "chiesto al telefono"
    with sessions.begin() as session:
        done = erase_person(session, KEYS, ADDRESS)
    assert done.bounce_events == len(record["bounce_events"])


def test_purge_scrubs_addresses_left_in_old_suppression_details(sessions: Sessions) -> None:
    with sessions.begin() as session:
        row = suppress(session, KEYS, ADDRESS, SuppressionReason.HARD_BOUNCE, "x")
        row.detail = f"550 <{ADDRESS}> unknown"  # as rows written before the fix were
    with sessions.begin() as session:
        done = purge_ledger(session, 30)
    with sessions() as session:
        detail = session.scalars(select(Suppression.detail)).one()
    assert done.suppressions == 1 and ADDRESS.lower() not in detail.lower()
