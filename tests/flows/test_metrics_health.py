"""The figures the alerting rules read from /metrics: a send's last progress and the relay's hold.

A running send with one batch delivered through the in-memory transport, looked at
through the real app's /metrics, then aged and held back in the database as a
stuck send and a dead relay would leave it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.models import Batch, Send
from dispatcher.sends.batch import run_batch
from dispatcher.sends.claims import hold_send
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web.app import create_app
from subscribers.orm import utcnow
from tests.support.data import add_readers_and_edition
from tests.support.sending import start_send


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    return make_settings(database_url=pg_url, sending=SendingSettings(batch_size=10))


@pytest.fixture
def send_id(settings: Settings, pg_sessions: sessionmaker[Session]) -> int:
    """A running send of 25 messages, its first batch of 10 delivered."""
    with pg_sessions.begin() as session:
        edition_id = add_readers_and_edition(session, settings, 25)
    batches: list[int] = []
    new_send = start_send(pg_sessions, edition_id, ("cronache",), 100, 10, batches.append)
    runtime = Runtime(settings, MemoryTransport)
    run_batch(runtime, batches[0], lambda _: None)
    runtime.close()
    return new_send


def _scrape(settings: Settings, sessions: sessionmaker[Session]) -> str:
    app = create_app(settings, sessions=sessions)
    with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000)) as local:
        answer = local.get("/metrics")
    assert answer.status_code == 200
    return answer.text


def _value(text: str, name: str, send_id: int) -> float:
    found = re.search(rf'^{name}{{send_id="{send_id}"}} (\S+)$', text, re.M)
    assert found is not None, f"{name} of send {send_id} not in /metrics"
    return float(found.group(1))


def test_a_moving_send_shows_recent_progress_and_no_hold(
    settings: Settings, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    text = _scrape(settings, pg_sessions)
    assert 0 <= _value(text, "dispatcher_send_last_progress_age_seconds", send_id) < 30
    assert _value(text, "dispatcher_send_relay_failures", send_id) == 0
    assert _value(text, "dispatcher_send_held_seconds", send_id) == 0


def test_a_send_nothing_finished_for_20_minutes_shows_its_age(
    settings: Settings, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    # The reconciler touching the batches (touched_at) is not progress: only finishing is.
    long_ago = utcnow() - dt.timedelta(minutes=20)
    with pg_sessions.begin() as session:
        session.execute(update(Send).where(Send.id == send_id).values(started_at=long_ago))
        session.execute(
            update(Batch)
            .where(Batch.send_id == send_id)
            .values(finished_at=None, touched_at=utcnow())
        )
        session.execute(
            update(Batch)
            .where(Batch.send_id == send_id, Batch.state == "done")
            .values(finished_at=long_ago)
        )
    text = _scrape(settings, pg_sessions)
    assert 1190 <= _value(text, "dispatcher_send_last_progress_age_seconds", send_id) < 1260


def test_a_send_the_relay_holds_back_shows_the_failures_and_the_hold(
    settings: Settings, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    with pg_sessions.begin() as session:
        for _ in range(3):
            hold_send(session, send_id, utcnow(), base=30, cap=600)
    text = _scrape(settings, pg_sessions)
    assert _value(text, "dispatcher_send_relay_failures", send_id) == 3
    assert 100 < _value(text, "dispatcher_send_held_seconds", send_id) <= 120  # 30 * 2**2


def test_sends_not_running_or_paused_are_not_watched(
    settings: Settings, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    with pg_sessions.begin() as session:
        session.execute(update(Send).where(Send.id == send_id).values(state="finished"))
    assert "dispatcher_send_last_progress_age_seconds{" not in _scrape(settings, pg_sessions)
