"""CSV import on PostgreSQL: new people stored by one statement per chunk, and still safely.

On PostgreSQL a chunk of mostly new people is inserted and subscribed by one statement
before anything is looked up (``upsert.add_new_people``); a re-import looks people up
first. These tests check that the statements are the few expected, that the one-statement
path leaves the same report and rows as the generic one, and that a person another
transaction adds meanwhile neither fails the import nor loses a line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from subscribers import importer, upsert
from subscribers.importer import ImportReport, import_csv
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.service import get_list
from subscribers.suppression import SuppressionReason, suppress
from tests.conftest import SECRET
from tests.support.data import add_import_lists
from tests.support.database import truncate_all

KEYS = (SECRET,)
Sessions = sessionmaker[Session]

MIXED = (
    "email;nome;lingua;sezioni\n"
    "new1@example.org;;;\n"  # line 2
    "new2@example.org;Nuovo Due;fr;cultura\n"
    "member@example.org;Member Renamed;en;\n"
    "left@example.org;;;\n"  # line 5
    "new3@example.org;;;\n"
    "newsup@example.org;;;\n"
    "NEW1@example.org;Later;de;\n"  # line 8: fills the blanks of line 2, stored already
    "bounced@example.org;;;\n"
    "not an address;;;\n"  # line 10
    "other@example.org;Other Person;;\n"
    "new4@example.org;;;\n"
    "linked@example.org;;;\n"  # line 13
)


@pytest.fixture
def sessions(pg_sessions: Sessions) -> Sessions:
    with pg_sessions.begin() as session:
        add_import_lists(session)
    return pg_sessions


def run_import(
    sessions: Sessions, tmp_path: Path, text: str, slug: str = "cronache", confirmed: bool = True
) -> ImportReport:
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    with sessions.begin() as session:
        return import_csv(session, path, slug, keys=KEYS, confirmed=confirmed)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def state(sessions: Sessions) -> list[tuple[Any, ...]]:
    """Everyone's details and subscriptions, ids left out."""
    with sessions() as session:
        query = (
            select(Subscriber.email, Subscriber.name, Subscriber.language, Subscriber.attributes)
            .add_columns(MailingList.slug, Subscription.status, Subscription.source)
            .add_columns(Subscription.confirmed_at.is_not(None))
            .outerjoin(Subscription, Subscription.subscriber_id == Subscriber.id)
            .outerjoin(MailingList, MailingList.id == Subscription.list_id)
            .order_by(Subscriber.email, MailingList.slug)
        )
        return [tuple(row) for row in session.execute(query)]


def add_elsewhere(sessions: Sessions, email: str, subscribe_to: str | None = None) -> None:
    """Another transaction adds a person (and subscribes them), and commits."""
    with sessions.begin() as session:
        person = Subscriber(email=email, name="Elsewhere")
        session.add(person)
        session.flush()
        if subscribe_to is not None:
            list_id = get_list(session, subscribe_to).id
            session.add(Subscription(list_id=list_id, subscriber_id=person.id, source="form"))


def test_a_first_import_stores_each_chunk_of_new_people_in_one_statement(
    sessions: Sessions, pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 2)
    lines = "".join(f"reader{i}@example.org;Lettore {i}\n" for i in range(6))
    with statements(pg_engine) as seen:
        report = run_import(sessions, tmp_path, "email;nome\n" + lines)
    assert report.imported == [2, 3, 4, 5, 6, 7]
    assert len(seen) == 1 + 3, seen  # the list, then one statement per chunk of two
    rows = state(sessions)
    assert len(rows) == 6
    assert all(row[4:] == ("cronache", "confirmed", "import", True) for row in rows), rows


def test_a_reimport_looks_people_up_first_after_its_first_chunk(
    sessions: Sessions, pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 2)
    text = "email;nome\n" + "".join(f"reader{i}@example.org;Lettore {i}\n" for i in range(6))
    run_import(sessions, tmp_path, text, confirmed=False)
    with statements(pg_engine) as seen:
        report = run_import(sessions, tmp_path, text)
    assert (report.imported, report.updated) == ([], [2, 3, 4, 5, 6, 7])
    # Inserting first is tried once: it would cost a sequence value and a probe per person.
    assert sum(sql.startswith("WITH suppressed AS") for sql in seen) == 1, seen
    assert {row[5] for row in state(sessions)} == {"confirmed"}


def given_people_in_every_state(sessions: Sessions, tmp_path: Path) -> None:
    known = "email\nmember@example.org\nleft@example.org\nbounced@example.org\nlinked@example.org\n"
    run_import(sessions, tmp_path, known, confirmed=False)
    run_import(sessions, tmp_path, "email\nother@example.org\n", "eventi")
    with sessions.begin() as session:
        for email, status in (("left", "unsubscribed"), ("bounced", "bounced")):
            person = session.scalars(select(Subscriber).filter_by(email=f"{email}@example.org"))
            subscription = session.scalars(select(Subscription).filter_by(subscriber=person.one()))
            subscription.one().status = status
        suppress(session, KEYS, "linked@example.org", SuppressionReason.HARD_BOUNCE)
        suppress(session, KEYS, "NewSup@example.org", SuppressionReason.COMPLAINT)


def test_the_one_statement_path_leaves_what_the_generic_path_leaves(
    sessions: Sessions, pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 3)  # chunks stored insert first, then looked up first
    reports: list[ImportReport] = []
    states: list[list[tuple[Any, ...]]] = []
    for generic in (False, True):
        truncate_all(pg_engine)
        with sessions.begin() as session:
            add_import_lists(session)
        given_people_in_every_state(sessions, tmp_path)
        with monkeypatch.context() as patch:
            if generic:  # the statements SQLite runs, on PostgreSQL
                patch.setattr(importer, "dialect_of", lambda _session: "sqlite")
            reports.append(run_import(sessions, tmp_path, MIXED))
        states.append(state(sessions))
    assert reports[0] == reports[1]
    assert states[0] == states[1]
    assert (reports[0].imported, reports[0].updated) == ([2, 3, 6, 11, 12], [4])
    assert [(note.line, note.reason) for note in reports[0].skipped] == [
        (5, "unsubscribed"), (7, "suppressed"), (8, "duplicate"), (9, "bounced"),
        (10, "invalid address"), (13, "suppressed"),
    ]  # fmt: skip
    # Line 8 filled the blanks of line 2, stored by then in the first chunk.
    assert ("new1@example.org", "Later", "de") in {row[:3] for row in states[0]}


@pytest.mark.parametrize("subscribed_too", [False, True])
def test_a_person_another_transaction_adds_before_the_insert_is_subscribed_once(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subscribed_too: bool
) -> None:
    add_new_people = upsert.add_new_people

    def others_first(*args: Any) -> dict[str, int]:
        monkeypatch.setattr(upsert, "add_new_people", add_new_people)
        add_elsewhere(sessions, "Taken@example.org", "cronache" if subscribed_too else None)
        return add_new_people(*args)

    monkeypatch.setattr(upsert, "add_new_people", others_first)
    text = "email;nome\na@example.org;A\ntaken@example.org;T\nb@example.org;B\n"
    report = run_import(sessions, tmp_path, text)
    expected = ([2, 4], [3]) if subscribed_too else ([2, 3, 4], [])
    assert (report.imported, report.updated) == expected
    # Known by the time they are looked up: the file's name is theirs, the import confirms them.
    taken = [row for row in state(sessions) if row[0] == "Taken@example.org"]
    assert [row[1:3] + row[4:6] for row in taken] == [("T", "it", "cronache", "confirmed")]


def test_a_person_another_transaction_adds_after_the_lookup_is_subscribed_once(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 2)
    run_import(sessions, tmp_path, "email\na@example.org\nb@example.org\nc@example.org\n")
    known_people: Callable[..., dict[str, upsert.Known]] = upsert.known_people

    def others_meanwhile(session: Session, list_id: int, keys: list[str]) -> Any:
        found = known_people(session, list_id, keys)
        if "late@example.org" in keys:
            add_elsewhere(sessions, "late@example.org")
        return found

    monkeypatch.setattr(upsert, "known_people", others_meanwhile)
    # The first chunk brings nobody new: the second is looked up before it is stored.
    text = "email\na@example.org\nb@example.org\nlate@example.org\nc@example.org\n"
    report = run_import(sessions, tmp_path, text)
    assert (report.imported, report.updated) == ([4], [2, 3, 5])
    late = [row for row in state(sessions) if row[0] == "late@example.org"]
    assert [row[1:2] + row[4:6] for row in late] == [("Elsewhere", "cronache", "confirmed")]
