"""Sections and languages: one send, different editions, built from a few compiled variants.

Issue 14, parts 1 and 2. Subscribers who chose different sections and languages get,
through a real Celery worker and an SMTP server, the cover, the highlights and the
articles of their sections (every article when they chose none), in English where the
edition has English texts; the mail's fixed words follow the language. The edition is
compiled once per combination the audience has, and the ledger names each person's.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import Settings
from dispatcher.models import Delivery, EditionVariant
from dispatcher.office.edition_store import add_edition
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from tests.smtpd import SmtpServer
from tests.support.data import add_subscribers, address, create_newsletter
from tests.support.sending import assert_finished, start_send
from tests.support.variants import ALL_TITLES, ARTICLES, EDITION, READERS
from tests.support.worker import WorkerProcess, settings_env

pytestmark = [pytest.mark.integration, pytest.mark.sending(batch_size=3)]


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True) as server:
        yield server


@pytest.fixture
def edition_id(pg_sessions: sessionmaker[Session], settings: Settings) -> int:
    with pg_sessions.begin() as session:
        list_id = create_newsletter(session).id
        add_subscribers(session, list_id, len(READERS))
        for index, (language, chosen, _) in READERS.items():
            attributes = {} if chosen is None else {"sections": sorted(chosen)}
            session.execute(
                update(Subscriber)
                .where(Subscriber.email == address(index))
                .values(language=language, attributes=attributes)
            )
        return add_edition(session, EDITION, "variants.md", settings).id


def _parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.SMTP)
    assert isinstance(message, EmailMessage)
    return message


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_each_person_gets_the_articles_of_their_sections_in_their_language(
    pg_sessions: sessionmaker[Session],
    settings: Settings,
    smtpd: SmtpServer,
    worker: WorkerProcess,
    edition_id: int,
) -> None:
    window, size = settings.sending.dispatch_window, settings.sending.batch_size
    send_id = start_send(pg_sessions, edition_id, ("cronache",), window, size, enqueue_batch)
    assert_finished(pg_sessions, send_id, worker, timeout=90)

    received = {m.rcpt_tos[0]: _parsed(m.data or b"") for m in smtpd.accepted}
    assert sorted(received) == sorted(address(i) for i in READERS)
    for index, (_, _, variant) in READERS.items():
        message = received[address(index)]
        text = _text(message)
        html = message.get_body(("html",))
        assert html is not None
        lines = set(text.splitlines())
        shown = {title for title in ALL_TITLES if title in lines}
        assert shown == ARTICLES[variant], (index, variant)
        english = variant.startswith("en")
        # The cover and the highlights reach everyone, in their language.
        assert ("Cover story" in text) is english and ("Copertina" in text) is not english
        assert "Highlighted this week" in text if english else "In evidenza questa" in text
        assert str(message["Subject"]) == (
            "Subject of the week" if english else "Oggetto della settimana"
        )
        # The fixed words of the mail follow the language.
        assert ("Unsubscribe <" in text) is english
        assert ("Annulla l'iscrizione <" in text) is not english
        assert ("Friday 6 December 2024" in text) is english
        assert f'lang="{"en" if english else "it"}"' in str(html.get_content())

    # The ledger says which variant each person got.
    with pg_sessions() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.variant, Delivery.status)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.send_id == send_id)
        ).all()
        compiled = session.scalars(
            select(EditionVariant.key).where(EditionVariant.edition_id == edition_id)
        ).all()
    assert {email: (variant, status) for email, variant, status in rows} == {
        address(i): (variant, "sent") for i, (_, _, variant) in READERS.items()
    }
    # One compiled variant per combination the audience has: the Italian whole edition is
    # the edition itself; each other variant is one row, made once (unique per key).
    combinations = {variant for _, _, variant in READERS.values()}
    assert len(compiled) == len(set(compiled)) == len(combinations) - 1
    assert set(compiled) | {"it"} == combinations


def test_an_edition_without_sections_or_english_sends_as_before(
    pg_sessions: sessionmaker[Session],
    settings: Settings,
    smtpd: SmtpServer,
    worker: WorkerProcess,
) -> None:
    plain = EDITION.split("en:\n")[0] + "---\n\n## Notizie\n\nPer tutti.\n\na.r.a.\n"
    with pg_sessions.begin() as session:
        list_id = create_newsletter(session).id
        add_subscribers(session, list_id, 3)
        session.execute(update(Subscriber).values(language="en", attributes={"sections": ["x"]}))
        edition_id = add_edition(session, plain, "plain.md", settings).id
    window, size = settings.sending.dispatch_window, settings.sending.batch_size
    send_id = start_send(pg_sessions, edition_id, ("cronache",), window, size, enqueue_batch)
    assert_finished(pg_sessions, send_id, worker, timeout=60)
    assert len(smtpd.accepted) == 3
    for message in smtpd.accepted:
        text = _text(_parsed(message.data or b""))
        assert "Notizie" in text.splitlines() and "Annulla l'iscrizione <" in text
    with pg_sessions() as session:
        variants = session.scalars(select(Delivery.variant).where(Delivery.send_id == send_id))
        assert set(variants) == {None}
        assert session.scalars(select(EditionVariant)).all() == []


def test_a_dry_run_counts_its_messages_by_variant_and_language(
    pg_sessions: sessionmaker[Session],
    settings: Settings,
    smtpd: SmtpServer,
    worker: WorkerProcess,
    edition_id: int,
    tmp_path: Path,
) -> None:
    out = tmp_path / "dry"
    args = ["send", str(edition_id), "--list", "cronache", "--dry-run", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--timeout", "60"], env=settings_env(settings))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["by_variant"] == dict(
        sorted(Counter(variant for _, _, variant in READERS.values()).items())
    )
    assert report["by_language"] == {"en": 2, "fr": 1, "it": 4}
    assert "by edition variant: en: 1, en:ambiente: 1, it: 2" in (out / "report.txt").read_text()
    assert smtpd.messages == []
    for message in report["messages"]:
        text = _text(_parsed((out / message["file"]).read_bytes()))
        titles = {title for title in ALL_TITLES if title in set(text.splitlines())}
        assert titles == ARTICLES[message["variant"]]
