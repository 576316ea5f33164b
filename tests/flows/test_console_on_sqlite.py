"""The console on the embedded defaults (SQLite, no Redis) answers at once, workers shown.

Without Redis the machinery's figures are read from the database. On SQLite every
transaction takes the write lock at BEGIN, so a second connection opened while the
request's own transaction is open would wait for it: the page hung for the busy timeout
(30 s) and then said the database did not answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatcher.config import Settings
from dispatcher.db import create_db_engine
from dispatcher.monitoring import stored
from dispatcher.office.users import create_user
from dispatcher.sends.activity import Snapshot
from dispatcher.web.app import create_app
from tests.support.admin import PASSWORD, log_in
from tests.support.data import add_readers_and_edition
from tests.support.sending import start_send


@pytest.fixture
def demo(make_settings: Callable[..., Settings], sqlite_url: str, tmp_path: Path) -> Settings:
    settings = make_settings(
        database_url=sqlite_url, broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite"
    )
    return settings.with_overrides(redis_url=None)


@pytest.fixture
def operator(demo: Settings, sqlite_sessions: object) -> Iterator[TestClient]:
    app = create_app(demo)
    sessions = app.state.web.sessions
    with sessions.begin() as session:
        create_user(session, "operator", PASSWORD, "operator")
        edition_id = add_readers_and_edition(session, demo, 3)
    start_send(sessions, edition_id, ("cronache",), 10, 10, lambda _: None)
    engine = create_db_engine(demo.database_url)
    busy = Snapshot(4242, time.time() - 60, 1, 1, 3, 1, 0, 1)
    stored.write_heartbeat(engine, busy, time.time())
    engine.dispose()
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        log_in(client, "operator")
        yield client


def test_the_overview_and_the_send_page_answer_with_the_stored_workers(
    operator: TestClient,
) -> None:
    for path in ("/console/figures.json", "/console/sends/1/figures.json"):
        answer = operator.get(path)
        assert answer.status_code == 200, answer.text
        system = answer.json()["system"]
        assert system["available"], system
        assert system["workers_alive"] == 1 and system["workers_busy"] == 1
    page = operator.get("/console/sends/1")
    assert page.status_code == 200 and "4242" in page.text
