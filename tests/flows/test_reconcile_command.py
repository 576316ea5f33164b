"""``dispatcher reconcile`` does what the beat does: the approval gate and orphan recovery too.

Run by hand, the reconciler once skipped the gate that the beat applies, so a due
send whose edition changed after its approval could be started from a shell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import Settings
from dispatcher.models import Delivery, Edition, Send
from dispatcher.office import approvals
from dispatcher.office.scheduling import schedule_send
from dispatcher.sends import journal
from subscribers.orm import utcnow
from tests.conftest import ANY_TIME, REDIS_URL, SECRET
from tests.support.admin import fake_preflight
from tests.support.data import add_example_edition, add_subscribers, create_newsletter
from tests.support.sending import start_send

RECIPIENTS = 5


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    return make_settings(database_url=pg_url)


def reconcile_by_hand(settings: Settings) -> Result:
    env = {
        "DATABASE_URL": settings.database_url,
        "BROKER_URL": REDIS_URL,
        "BROKER_KEY_PREFIX": settings.broker_key_prefix,
        "SEND_JOURNAL_DIR": settings.sending.journal_dir,
        "SECRET_KEY": SECRET,
        "PUBLIC_URL": settings.public_url,
        **ANY_TIME,
    }
    return CliRunner().invoke(cli, ["reconcile"], env=env, catch_exceptions=False)


def due_approved_send(
    sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """An approved edition, scheduled a minute ago to a list of a few subscribers."""
    fake_preflight(monkeypatch)
    with sessions.begin() as session:
        newsletter = create_newsletter(session)
        add_subscribers(session, newsletter.id, RECIPIENTS)
        edition_id = add_example_edition(session, settings)
        approvals.approve(session, edition_id, "approver", settings)
        a_minute_ago = utcnow() - dt.timedelta(minutes=1)
        send = schedule_send(
            session, edition_id, ["cronache"], a_minute_ago,
            actor="editor", settings=settings, now=a_minute_ago,
        )  # fmt: skip
        return edition_id, send.id


def test_reconcile_by_hand_does_not_start_a_send_whose_approval_lapsed(
    pg_sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    edition_id, send_id = due_approved_send(pg_sessions, settings, monkeypatch)
    with pg_sessions.begin() as session:
        session.get_one(Edition, edition_id).text += "\nUna riga aggiunta dopo l'approvazione.\n"

    done = reconcile_by_hand(settings)

    assert done.exit_code == 0, done.output
    with pg_sessions() as session:
        held = session.get_one(Send, send_id)
        rows = session.scalars(select(Delivery.id).where(Delivery.send_id == send_id)).all()
    assert held.state == "scheduled" and rows == []
    assert "changed since it was approved" in held.state_reason


def test_reconcile_by_hand_starts_a_due_send_still_approved(
    pg_sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, send_id = due_approved_send(pg_sessions, settings, monkeypatch)

    done = reconcile_by_hand(settings)

    assert done.exit_code == 0, done.output
    with pg_sessions() as session:
        started = session.get_one(Send, send_id)
        rows = session.scalars(select(Delivery.id).where(Delivery.send_id == send_id)).all()
    assert started.state == "running" and len(rows) == RECIPIENTS


def test_reconcile_by_hand_takes_back_a_dead_workers_claim_from_its_journal(
    pg_sessions: sessionmaker[Session],
    make_settings: Callable[..., Settings],
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(database_url=pg_url, require_approval=False)
    with pg_sessions.begin() as session:
        newsletter = create_newsletter(session)
        add_subscribers(session, newsletter.id, RECIPIENTS)
        edition_id = add_example_edition(session, settings)
    send_id = start_send(pg_sessions, edition_id, ("cronache",), 1, RECIPIENTS, lambda _: None)
    owner = "dead-host:4242:1"
    with pg_sessions.begin() as session:
        rows = session.scalars(select(Delivery).where(Delivery.send_id == send_id)).all()
        for row in rows:
            row.status, row.owner = "sending", owner
    dead = _orphan_journal(settings, owner)

    done = reconcile_by_hand(settings)

    assert done.exit_code == 0, done.output
    assert not dead.exists()
    with pg_sessions() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.send_id == send_id).order_by(Delivery.id)
        ).all()
    # The first row may have been in flight; the others never went and are queued again.
    assert rows[0].in_doubt and rows[0].status in ("uncertain", "deferred")
    assert [row.status for row in rows[1:]] == ["queued"] * (RECIPIENTS - 1)


def _orphan_journal(settings: Settings, owner: str) -> Path:
    """A journal left by a dead process that recorded no outcome."""
    folder = Path(settings.sending.journal_dir)
    live = journal.Journal(folder, owner, journal.fingerprint(settings.database_url))
    live.close()
    return live.path
