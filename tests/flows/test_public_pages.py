"""The public pages against PostgreSQL, with confirmation mail through a real SMTP server.

Sign-up, double opt-in, one-click and page unsubscribes, preferences, the archive
and its feed, driven through HTTP (FastAPI's TestClient, and a plain httpx client
against the app served on 127.0.0.1 where cookies and redirects matter).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.message.slots import SENTINEL_PREFIX
from dispatcher.models import Send
from dispatcher.office.edition_store import add_edition, read_source
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web.app import create_app
from dispatcher.web.ratelimit import MemoryRateLimiter, Rate, create_limiter
from dispatcher.web.routes.public_common import ip_bucket
from subscribers.models import Subscriber, Subscription
from subscribers.orm import utcnow
from subscribers.suppression import SuppressionReason, suppress
from subscribers.tokens import Purpose, Signer
from tests.conftest import SECRET
from tests.smtpd import Received, SmtpServer
from tests.support.data import EDITION_FILE, add_subscribers, address
from tests.support.sending import drain, start_send
from tests.support.web import serve

PUBLIC = "https://newsletter.example.org"
INVALID = "Questo link non è valido o è scaduto."
DONE = "è corretto riceverai un"


@pytest.fixture
def app(smtp_settings: Settings, pg_sessions: sessionmaker[Session], newsletter: int) -> FastAPI:
    return create_app(smtp_settings, sessions=pg_sessions)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def sign_up(client: TestClient, address: str, **fields: object) -> httpx.Response:
    """Load the form (for its token) and send it, consenting, for ``cronache``."""
    page = client.get("/iscriviti?lista=cronache").text
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token
    data = {"email": address, "name": "Mario Rossi", "lists": "cronache", "consent": "yes",
            "privacy_version": "2024-12", "form_token": token.group(1), **fields}  # fmt: skip
    return client.post("/iscriviti", data=data)


def parsed(message: Received) -> EmailMessage:
    assert message.data is not None
    found = email.message_from_bytes(message.data, policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def link_in(message: Received, path: str) -> str:
    """The local path of the ``/conferma/`` or ``/p/`` link in a mail's text part."""
    text = parsed(message).get_body(("plain",))
    assert text is not None
    found = re.search(re.escape(PUBLIC) + rf"({path}[0-9a-f]+)", text.get_content())
    assert found, text.get_content()
    return found.group(1)


def subscription(sessions: sessionmaker[Session], email_address: str) -> Subscription:
    with sessions() as session:
        found = session.scalar(
            select(Subscription).join(Subscriber).where(Subscriber.email == email_address)
        )
        assert found is not None
        session.expunge(found)
        return found


def confirmed_reader(sessions: sessionmaker[Session], list_id: int, index: int = 0) -> int:
    with sessions.begin() as session:
        return add_subscribers(session, list_id, 1, start=index)[0]


def test_home_lists_the_newsletters_with_links(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<html lang="it">' in page.text
    assert "Cronache da Palazzo Cisterna" in page.text
    assert "/iscriviti?lista=cronache" in page.text and "/archive/cronache" in page.text
    assert 'lang="en"' in client.get("/?lang=en").text


def test_signing_up_mails_a_link_whose_get_confirms_nothing(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    answer = sign_up(client, "Mario.Rossi@Example.org")
    assert answer.status_code == 200 and DONE in answer.text
    assert smtpd.wait_for(1)
    mail = parsed(smtpd.accepted[0])
    assert smtpd.accepted[0].rcpt_tos == ("Mario.Rossi@example.org",)
    assert mail["From"] == "Cronache da Palazzo Cisterna <cronache@cittametropolitana.torino.it>"
    assert mail["Subject"] == "Conferma l'iscrizione a Cronache da Palazzo Cisterna"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Date"] and mail["Message-ID"]
    assert mail.get_body(("html",)) is not None and "Mario" not in str(mail.get_body(("plain",)))
    pending = subscription(pg_sessions, "Mario.Rossi@example.org")
    assert (pending.status, pending.source, pending.privacy_version) == (
        "pending",
        "form",
        "2024-12",
    )
    assert pending.consent_ip == "testclient"

    link = link_in(smtpd.accepted[0], "/conferma/")
    page = client.get(link)
    assert page.status_code == 200 and f'action="{link}?lang=it"' in page.text
    assert subscription(pg_sessions, "Mario.Rossi@example.org").status == "pending"
    done = client.post(link)
    assert done.status_code == 200 and "Iscrizione confermata" in done.text
    assert subscription(pg_sessions, "Mario.Rossi@example.org").status == "confirmed"
    assert client.post(link).status_code == 200  # twice is harmless


def test_the_answer_is_the_same_for_every_kind_of_address(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    confirmed_reader(pg_sessions, newsletter)
    with pg_sessions.begin() as session:
        suppress(session, (SECRET,), "gone@example.org", SuppressionReason.HARD_BOUNCE)
    new = sign_up(client, "new@example.org")
    pending = sign_up(client, "new@example.org")
    confirmed = sign_up(client, address(0))
    suppressed = sign_up(client, "gone@example.org")
    assert {r.status_code for r in (new, pending, confirmed, suppressed)} == {200}
    assert new.text == pending.text == confirmed.text == suppressed.text
    assert smtpd.wait_for(4)
    subjects = {m.rcpt_tos[0]: parsed(m)["Subject"] for m in smtpd.accepted}
    assert subjects[address(0)] == "Sei già iscritto a Cronache da Palazzo Cisterna"
    assert link_in([m for m in smtpd.accepted if m.rcpt_tos[0] == address(0)][0], "/p/")
    assert subjects["gone@example.org"].startswith("Conferma")


def test_a_filled_honeypot_answers_like_success_and_does_nothing(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    real = sign_up(client, "person@example.org")
    robot = sign_up(client, "robot@example.org", sito_web="https://spam.example")
    assert robot.status_code == real.status_code == 200 and robot.text == real.text
    assert smtpd.wait_for(1) and not smtpd.wait_for(2, timeout=0.5)
    with pg_sessions() as session:
        assert session.scalar(select(Subscriber).where(Subscriber.email.like("robot%"))) is None


def test_sign_ups_are_limited_per_ip(client: TestClient) -> None:
    answers = [sign_up(client, f"reader{i}@example.org").status_code for i in range(6)]
    assert answers == [200] * 5 + [429]
    refused = sign_up(client, "late@example.org")
    assert refused.headers["Retry-After"] == "600" and "Troppe richieste" in refused.text


def test_without_redis_each_process_counts_in_a_sliding_window() -> None:
    now = [1000.0]
    memory = MemoryRateLimiter(Rate(limit=2, window=60), clock=lambda: now[0])
    assert [memory.hit("a"), memory.hit("a"), memory.hit("a"), memory.hit("b")] == [
        True, True, False, True]  # fmt: skip
    now[0] += 61
    assert memory.hit("a")
    assert isinstance(create_limiter(Rate(1, 1), None, "x:"), MemoryRateLimiter)
    # One IPv6 line gets a /64: it counts as one visitor.
    assert ip_bucket("2001:db8::1") == ip_bucket("2001:db8::ffff") == "2001:db8::/64"
    assert ip_bucket("192.0.2.7") == "192.0.2.7"


def test_form_errors_are_shown_on_their_fields(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    page = sign_up(client, "not an address", consent="")
    assert page.status_code == 400
    assert 'aria-describedby="email-hint email-error" aria-invalid="true"' in page.text
    assert 'id="email-error"' in page.text and 'id="consent-error"' in page.text
    assert "Per iscriverti devi accettare" in page.text
    stale = sign_up(client, "ok@example.org", privacy_version="2020-01", form_token="forged")
    assert stale.status_code == 400 and "informativa sulla privacy è cambiata" in stale.text
    assert "Il modulo è scaduto" in stale.text
    with pg_sessions() as session:
        assert session.scalar(select(Subscriber.id)) is None
    assert not smtpd.wait_for(1, timeout=0.3)


def bad_tokens(signer: Signer, subscriber_id: int, list_id: int) -> dict[str, str]:
    """Tokens no page may accept, whatever its purpose."""
    good = signer.sign(Purpose.UNSUBSCRIBE, subscriber_id, list_id)
    return {
        "forged": "ab" * 20,
        "altered": good[:-1] + ("0" if good[-1] != "0" else "1"),
        "truncated": good[:-4],
        "not hex": "zz" + good[2:],
        "too long": good * 3,
    }


def other_purposes(signer: Signer, subscriber_id: int, list_id: int) -> dict[str, list[str]]:
    """Per page, valid tokens made for another page."""
    unsubscribe = signer.sign(Purpose.UNSUBSCRIBE, subscriber_id, list_id)
    preferences = signer.sign(Purpose.PREFERENCES, subscriber_id)
    confirm = signer.sign_expiring(Purpose.CONFIRM, subscriber_id, list_id)
    bounce = signer.sign(Purpose.BOUNCE, subscriber_id)
    return {"/u/": [preferences, confirm, bounce], "/p/": [unsubscribe, confirm],
            "/conferma/": [unsubscribe, preferences]}  # fmt: skip


def test_bad_tokens_get_the_invalid_link_page(
    client: TestClient, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    reader = confirmed_reader(pg_sessions, newsletter)
    signer = Signer((SECRET,))
    for path, wrong in other_purposes(signer, reader, newsletter).items():
        for token in [*bad_tokens(signer, reader, newsletter).values(), *wrong]:
            for method in ("GET", "POST"):
                answer = client.request(
                    method, path + token, data={"List-Unsubscribe": "One-Click"}
                )
                assert answer.status_code == 400, (method, path, token)
                assert INVALID in answer.text and "Traceback" not in answer.text
    assert subscription(pg_sessions, address(0)).status == "confirmed"


def test_a_token_acts_on_its_own_person_only(
    client: TestClient, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    alice, bob = (
        confirmed_reader(pg_sessions, newsletter, 1),
        confirmed_reader(pg_sessions, newsletter, 2),
    )
    signer = Signer((SECRET,))
    token = signer.sign(Purpose.UNSUBSCRIBE, alice, newsletter)
    # Alice's tag on a payload naming Bob: the tag no longer matches.
    payload_bob = signer.sign(Purpose.UNSUBSCRIBE, bob, newsletter)[:-20]
    assert client.post(f"/u/{payload_bob}{token[-20:]}").status_code == 400
    assert client.post(f"/u/{token}").status_code == 200
    assert subscription(pg_sessions, address(1)).status == "unsubscribed"
    assert subscription(pg_sessions, address(2)).status == "confirmed"


def test_one_click_from_a_plain_client_unsubscribes_with_200_and_no_redirect(
    app: FastAPI, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    reader = confirmed_reader(pg_sessions, newsletter)
    token = Signer((SECRET,)).sign(Purpose.UNSUBSCRIBE, reader, newsletter)
    body = {"List-Unsubscribe": "One-Click"}
    with serve(app) as base, httpx.Client(base_url=base, follow_redirects=False) as http:
        first = http.post(f"/u/{token}", data=body)
        again = http.post(f"/u/{token}", data=body)
        multipart = http.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    for answer in (first, again, multipart):
        assert answer.status_code == 200 and "Iscrizione annullata" in answer.text
        assert "location" not in answer.headers and "set-cookie" not in answer.headers
    with pg_sessions() as session:
        person = session.get_one(Subscriber, reader)
        assert person.subscriptions[0].status == "unsubscribed"
        assert person.attributes["unsubscribed"][str(newsletter)]["how"] == "one-click"


def test_the_unsubscribe_page_asks_first_and_its_button_unsubscribes(
    client: TestClient, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    reader = confirmed_reader(pg_sessions, newsletter)
    token = Signer((SECRET,)).sign(Purpose.UNSUBSCRIBE, reader, newsletter)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and 'name="via" value="page"' in page.text
    assert subscription(pg_sessions, address(0)).status == "confirmed"
    left = client.post(f"/u/{token}", data={"via": "page"})
    assert left.status_code == 200 and "/iscriviti?lista=cronache" in left.text
    with pg_sessions() as session:
        how = session.get_one(Subscriber, reader).attributes["unsubscribed"][str(newsletter)]
    assert how["how"] == "link"
    assert "Non sei iscritto" in client.get(f"/u/{token}").text


def test_tokens_signed_with_a_rotated_out_key_still_work(
    smtp_settings: Settings, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    reader = confirmed_reader(pg_sessions, newsletter)
    old = Signer((SECRET,))
    keys = ("brand-new-key-after-the-rotation-0123456789", SECRET)
    rotated = create_app(smtp_settings.with_overrides(secret_keys=keys), sessions=pg_sessions)
    with TestClient(rotated) as client:
        assert client.get(f"/p/{old.sign(Purpose.PREFERENCES, reader)}").status_code == 200
        confirm = old.sign_expiring(Purpose.CONFIRM, reader, newsletter)
        assert "già confermata" in client.get(f"/conferma/{confirm}").text
        answer = client.post(f"/u/{old.sign(Purpose.UNSUBSCRIBE, reader, newsletter)}")
        assert answer.status_code == 200
        expired = old.sign_expiring(
            Purpose.CONFIRM, reader, newsletter, now=time.time() - 8 * 86400
        )
        assert client.get(f"/conferma/{expired}").status_code == 400
    assert subscription(pg_sessions, address(0)).status == "unsubscribed"


def test_preferences_change_lists_sections_and_language(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session], newsletter: int
) -> None:
    reader = confirmed_reader(pg_sessions, newsletter)
    token = Signer((SECRET,)).sign(Purpose.PREFERENCES, reader)
    page = client.get(f"/p/{token}")
    assert (
        page.status_code == 200 and "r•••@example.org" in page.text and address(0) not in page.text
    )
    saved = client.post(f"/p/{token}", data={"sections": ["cultura", "unknown"], "language": "en"})
    assert saved.status_code == 200 and "Preferenze salvate" in saved.text
    with pg_sessions() as session:
        person = session.get_one(Subscriber, reader)
        assert (person.language, person.attributes["sections"]) == ("en", ["cultura"])
        assert person.subscriptions[0].status == "unsubscribed"
    client.post(f"/p/{token}", data={"lists": "cronache", "language": "en"})
    # A list turned back on is a sign-up request: the withdrawal stands until it is confirmed.
    assert subscription(pg_sessions, address(0)).status == "unsubscribed"
    assert smtpd.wait_for(1) and parsed(smtpd.accepted[0])["Subject"].startswith("Confirm")
    assert client.post(link_in(smtpd.accepted[0], "/conferma/")).status_code == 200
    assert subscription(pg_sessions, address(0)).status == "confirmed"


def test_a_person_who_unsubscribes_during_a_send_gets_nothing_more(
    app: FastAPI, make_runtime: Callable[..., Runtime], memory: MemoryTransport,
    pg_sessions: sessionmaker[Session], newsletter: int,
) -> None:  # fmt: skip
    runtime = make_runtime(sending=SendingSettings(batch_size=10, dispatch_window=100))
    with pg_sessions.begin() as session:
        ids = add_subscribers(session, newsletter, 25)
        edition_id = add_edition(session, read_source(EDITION_FILE), "n44.md", runtime.settings).id
    batches: list[int] = []
    start_send(pg_sessions, edition_id, ("cronache",), 100, 10, batches.append)
    run_batch(runtime, batches.pop(0), batches.append)
    token = Signer((SECRET,)).sign(Purpose.UNSUBSCRIBE, ids[20], newsletter)
    with TestClient(app) as client:
        assert client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    drain(runtime, batches)
    delivered = {m.recipient for m in memory.sent}
    assert address(20) not in delivered and len(delivered) == 24


def add_sent_edition(
    sessions: sessionmaker[Session], settings: Settings, number: int, state: str | None
) -> None:
    source = read_source(EDITION_FILE).replace("number: 44", f"number: {number}")
    source = source.replace("n. 44:", f"n. {number}:")
    with sessions.begin() as session:
        edition = add_edition(session, source, f"n{number}.md", settings)
        if state is not None:
            started = utcnow() - dt.timedelta(days=60 - number) if state != "scheduled" else None
            session.add(Send(edition_id=edition.id, state=state, scheduled_at=utcnow(),
                             started_at=started))  # fmt: skip


@pytest.fixture
def archive(smtp_settings: Settings, pg_sessions: sessionmaker[Session], newsletter: int) -> None:
    for number, state in ((44, "finished"), (45, "running"), (46, "scheduled"), (47, None)):
        add_sent_edition(pg_sessions, smtp_settings, number, state)


def test_the_archive_lists_editions_that_went_out_newest_first(
    client: TestClient, archive: None
) -> None:
    page = client.get("/archive/cronache")
    assert page.status_code == 200
    numbers = re.findall(r'href="/archive/cronache/(\d+)"', page.text)
    assert numbers == ["45", "44"]
    assert client.get("/archive/cronache/46").status_code == 404
    assert client.get("/archive/cronache/47").status_code == 404
    assert client.get("/archive/nessuna").status_code == 404


def test_the_web_version_holds_no_personal_data(client: TestClient, archive: None) -> None:
    page = client.get("/archive/cronache/44")
    assert page.status_code == 200 and "Cronache" in page.text
    assert SENTINEL_PREFIX not in page.text
    assert not re.search(r"/[up]/[0-9a-f]{8,}", page.text)
    assert f"{PUBLIC}/gestione-iscrizione" in page.text
    assert page.text.count(f'href="{PUBLIC}/gestione-iscrizione"') == 2  # leave, preferences
    assert page.headers["content-security-policy"].startswith("default-src 'none'")  # no script
    assert client.get("/gestione-iscrizione").status_code == 200


def test_the_atom_feed_has_one_entry_per_edition_that_went_out(
    client: TestClient, archive: None
) -> None:
    answer = client.get("/archive/cronache/feed.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(answer.content)
    assert feed.findtext("a:id", namespaces=ns) == f"{PUBLIC}/archive/cronache"
    assert feed.findtext("a:title", namespaces=ns) == "Cronache da Palazzo Cisterna"
    assert feed.findtext("a:updated", namespaces=ns)
    entries = feed.findall("a:entry", ns)
    assert [e.findtext("a:id", namespaces=ns) for e in entries] == [
        f"{PUBLIC}/archive/cronache/45",
        f"{PUBLIC}/archive/cronache/44",
    ]
    first = entries[0]
    assert first.find("a:link", ns).get("href") == f"{PUBLIC}/archive/cronache/45"  # type: ignore[union-attr]
    assert first.findtext("a:summary", namespaces=ns).startswith("Il panettone")  # type: ignore[union-attr]
    assert dt.datetime.fromisoformat(first.findtext("a:published", namespaces=ns) or "")
