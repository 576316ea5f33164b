"""A sign-up changes nothing of the person's until its own confirmation link is used.

Anyone can type anyone's address into the form. These tests play the stranger and
the address's owner, through the real pages, with the mails through a real SMTP
server, on PostgreSQL.
"""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from subscribers.consent import unsubscribe
from subscribers.models import Subscriber, Subscription
from tests.flows import test_public_pages as pages
from tests.flows.test_public_pages import confirmed_reader, link_in, parsed, subscription
from tests.smtpd import SmtpServer
from tests.support.data import address

# The public pages' app and client; smtpd (a real SMTP server) and newsletter: conftest's.
app, client = pages.app, pages.client

OWNER = "owner@example.org"


def sign_up(client: TestClient, email: str, name: str, language: str = "it") -> httpx.Response:
    page = client.get(f"/iscriviti?lista=cronache&lang={language}").text
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token
    data = {"email": email, "name": name, "lists": "cronache", "consent": "yes",
            "privacy_version": "2024-12", "form_token": token.group(1)}  # fmt: skip
    answer = client.post(f"/iscriviti?lang={language}", data=data)
    assert answer.status_code == 200
    return answer


def person(sessions: sessionmaker[Session], email: str) -> tuple[str, str]:
    """The person's name and language."""
    with sessions() as session:
        found = session.query(Subscriber).filter(Subscriber.email == email).one()
        return found.name, found.language


def test_a_stranger_cannot_name_a_confirmed_subscriber(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    reader = confirmed_reader(pg_sessions, newsletter)
    with pg_sessions.begin() as session:  # a reader imported without a name
        session.execute(update(Subscriber).where(Subscriber.id == reader).values(name=""))
    sign_up(client, address(0), "Mallory Spam", language="en")
    assert smtpd.wait_for(1)
    assert parsed(smtpd.accepted[0])["Subject"].startswith("You are already subscribed")
    assert person(pg_sessions, address(0)) == ("", "it")


def test_a_link_applies_its_own_request_not_a_later_one(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    sign_up(client, OWNER, "Stranger Name", language="en")  # someone else, first
    sign_up(client, OWNER, "Mario Rossi")  # the owner
    assert smtpd.wait_for(2)
    stranger_link, owner_link = (link_in(mail, "/conferma/") for mail in smtpd.accepted)
    # Nothing of either request is applied while neither is confirmed.
    assert person(pg_sessions, OWNER) == ("", "it")
    assert subscription(pg_sessions, OWNER).status == "pending"
    page = client.get(owner_link)
    assert page.status_code == 200 and "Mario Rossi" in page.text
    assert "Stranger" not in page.text
    assert client.post(owner_link).status_code == 200
    assert person(pg_sessions, OWNER) == ("Mario Rossi", "it")
    assert subscription(pg_sessions, OWNER).status == "confirmed"
    # The stranger's link, used afterwards, changes nothing.
    assert client.post(stranger_link).status_code == 200
    assert person(pg_sessions, OWNER) == ("Mario Rossi", "it")


def test_the_consent_record_is_that_of_the_confirmed_request(
    app: object, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    with (
        TestClient(app, client=("198.51.100.9", 5000)) as stranger,  # type: ignore[arg-type]
        TestClient(app, client=("203.0.113.7", 5000)) as owner,  # type: ignore[arg-type]
    ):
        sign_up(owner, OWNER, "")
        sign_up(stranger, OWNER, "")
        assert smtpd.wait_for(2)
        assert owner.post(link_in(smtpd.accepted[0], "/conferma/")).status_code == 200
    assert subscription(pg_sessions, OWNER).consent_ip == "203.0.113.7"


def test_signing_up_again_keeps_a_withdrawal_until_it_is_confirmed(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    sign_up(client, OWNER, "Mario Rossi")
    assert smtpd.wait_for(1)
    first_link = link_in(smtpd.accepted[0], "/conferma/")
    assert client.post(first_link).status_code == 200
    with pg_sessions.begin() as session:
        subscriber_id = subscription(pg_sessions, OWNER).subscriber_id
        unsubscribe(session, subscriber_id, newsletter, how="link")
    left = subscription(pg_sessions, OWNER)
    sign_up(client, OWNER, "Someone Else")
    assert smtpd.wait_for(2)
    again = subscription(pg_sessions, OWNER)
    assert (again.status, again.unsubscribed_at) == ("unsubscribed", left.unsubscribed_at)
    assert person(pg_sessions, OWNER) == ("Mario Rossi", "it")
    # The old link, from before the person left, does not bring them back.
    assert client.post(first_link).status_code == 400
    assert subscription(pg_sessions, OWNER).status == "unsubscribed"
    # The new one does, with its own data.
    assert client.post(link_in(smtpd.accepted[1], "/conferma/")).status_code == 200
    confirmed = subscription(pg_sessions, OWNER)
    assert (confirmed.status, confirmed.unsubscribed_at) == ("confirmed", None)
    assert person(pg_sessions, OWNER) == ("Someone Else", "it")


def test_an_erased_person_leaves_no_request_behind(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    from dispatcher.office.privacy import erase_person
    from tests.conftest import SECRET

    sign_up(client, OWNER, "Mario Rossi")
    assert smtpd.wait_for(1)
    with pg_sessions.begin() as session:
        erase_person(session, (SECRET,), OWNER)
    # The link now names nothing: the invalid link page, and nothing applied.
    assert client.post(link_in(smtpd.accepted[0], "/conferma/")).status_code == 400
    with pg_sessions() as session:
        assert session.query(Subscription).filter(Subscription.status == "confirmed").count() == 0
