"""Consent that matches the privacy notice: an append-only history, kept and forgotten.

Issue 14, part 6. The notice says the IP of the confirmation is kept: the confirm
page records it (here from another address than the sign-up's). Each step of consent
is a row appended to ``consent_events``, never an overwrite; the export of a person
includes the history and erasure deletes it; unconfirmed sign-ups (and their IPs) are
deleted after ``UNCONFIRMED_RETENTION_DAYS``, and nothing else is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from click.testing import Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.office.privacy import erase_person, export_person
from subscribers import consent
from subscribers.consent_history import history_of, purge_unconfirmed
from subscribers.models import ConsentEvent, SignupRequest, Subscriber, Subscription
from subscribers.orm import utcnow
from tests.conftest import SECRET
from tests.flows import test_public_pages as pages
from tests.flows.test_public_pages import link_in
from tests.flows.test_signup_requests import sign_up
from tests.smtpd import SmtpServer

app = pages.app  # the public pages' app; smtpd and newsletter: conftest's
KEYS = (SECRET,)
OWNER = "owner@example.org"
Sessions = sessionmaker[Session]


def _events(sessions: Sessions, email: str) -> list[tuple[str, str | None, str]]:
    with sessions() as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        return [(e["event"], e["ip"], e["how"]) for e in history_of(session, person.id)]


def test_the_confirmation_ip_is_kept_and_each_step_is_appended(
    app: FastAPI, smtpd: SmtpServer, pg_sessions: Sessions, newsletter: int
) -> None:
    with TestClient(app, follow_redirects=False, client=("203.0.113.7", 4000)) as at_home:
        sign_up(at_home, OWNER, "Mario Rossi")
    assert smtpd.wait_for(1)
    with TestClient(app, follow_redirects=False, client=("198.51.100.9", 4000)) as on_phone:
        assert on_phone.post(link_in(smtpd.accepted[0], "/conferma/")).status_code == 200
    with pg_sessions.begin() as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == OWNER)).one()
        consent.set_preferences(session, person, {"cultura"}, "en")
        consent.unsubscribe(session, person.id, newsletter, how="one-click")

    assert _events(pg_sessions, OWNER) == [
        ("signup_requested", "203.0.113.7", "form"),
        ("confirmed", "198.51.100.9", "form"),
        ("preferences_changed", None, "preferences"),
        ("unsubscribed", None, "one-click"),
    ]
    with pg_sessions() as session:
        record = export_person(session, KEYS, OWNER)
    assert [e["event"] for e in record["consent_history"]][:2] == ["signup_requested", "confirmed"]
    assert record["consent_history"][1]["privacy_version"] == "2024-12"
    assert "cultura" in record["consent_history"][2]["detail"]


def test_erasure_deletes_the_consent_history(pg_sessions: Sessions, newsletter: int) -> None:
    with pg_sessions.begin() as session:
        signup = consent.request_signup(
            session, newsletter, OWNER, ip="203.0.113.7", privacy_version="v3"
        )
        assert signup.request is not None
        consent.confirm_request(session, KEYS, signup.request.id, ip="198.51.100.9")
        consent.request_signup(
            session, newsletter, "other@example.org", ip="192.0.2.1", privacy_version="v3"
        )
    with pg_sessions.begin() as session:
        erase_person(session, KEYS, OWNER)
    with pg_sessions() as session:
        ips = set(session.scalars(select(ConsentEvent.ip)))
    assert ips == {"192.0.2.1"}  # only the other person's


def _age(sessions: Sessions, email: str, days: int) -> None:
    """Move a person's sign-up ``days`` into the past."""
    at = utcnow() - dt.timedelta(days=days)
    with sessions.begin() as session:
        who = session.scalars(select(Subscriber.id).where(Subscriber.email == email)).one()
        session.execute(
            update(Subscription).where(Subscription.subscriber_id == who).values(consented_at=at)
        )
        session.execute(
            update(SignupRequest).where(SignupRequest.subscriber_id == who).values(created_at=at)
        )
        session.execute(
            update(ConsentEvent).where(ConsentEvent.subscriber_id == who).values(created_at=at)
        )


def _count(sessions: Sessions, model: type[object], email: str) -> int:
    with sessions() as session:
        who = select(Subscriber.id).where(Subscriber.email == email).scalar_subquery()
        column = model.subscriber_id  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).where(column == who)) or 0)


def _sign_ups(sessions: Sessions, list_id: int) -> None:
    """old@ never confirmed (40 days), new@ waits (1 day), kept@ confirmed 40 days ago."""
    with sessions.begin() as session:
        for email in ("old@example.org", "new@example.org", "kept@example.org"):
            signup = consent.request_signup(
                session, list_id, email, ip="203.0.113.7", privacy_version="v3"
            )
            if email.startswith("kept") and signup.request is not None:
                consent.confirm_request(session, KEYS, signup.request.id, ip="198.51.100.9")
    _age(sessions, "old@example.org", 40)
    _age(sessions, "kept@example.org", 40)
    _age(sessions, "new@example.org", 1)


def test_the_purge_deletes_only_unconfirmed_sign_ups_past_the_retention(
    pg_sessions: Sessions, newsletter: int
) -> None:
    _sign_ups(pg_sessions, newsletter)
    with pg_sessions.begin() as session:
        done = purge_unconfirmed(session, 30)
    assert (done.subscriptions, done.requests, done.events) == (1, 1, 1)
    for model in (Subscription, SignupRequest, ConsentEvent):
        assert _count(pg_sessions, model, "old@example.org") == 0
        assert _count(pg_sessions, model, "new@example.org") == 1
    assert _count(pg_sessions, Subscription, "kept@example.org") == 1
    assert [e[0] for e in _events(pg_sessions, "kept@example.org")] == [
        "signup_requested",
        "confirmed",
    ]


def test_privacy_purge_deletes_unconfirmed_sign_ups_after_the_setting(
    invoke: Callable[..., Result], pg_sessions: Sessions
) -> None:
    _sign_ups(pg_sessions, 1)  # invoke made the list "cronache", id 1
    kept = invoke("privacy", "purge", "--unconfirmed-older-than", "60")
    assert kept.exit_code == 0 and "0 pending subscriptions, 0 requests" in kept.stdout
    default = invoke("privacy", "purge")  # UNCONFIRMED_RETENTION_DAYS, 30 by default
    assert "1 pending subscriptions, 1 requests, 1 consent events" in default.stdout
    assert _count(pg_sessions, Subscription, "old@example.org") == 0
