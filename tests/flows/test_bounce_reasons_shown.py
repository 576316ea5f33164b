"""What came back for a send is shown grouped by reason: console, API and `dispatcher status`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import SendingSettings, Settings
from dispatcher.models import BounceEvent, Delivery
from dispatcher.office.users import create_user
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web.app import create_app
from subscribers.orm import utcnow
from tests.support.data import add_example_edition, add_subscribers, create_newsletter
from tests.support.sending import start_send

PASSWORD = "a long enough password"
POLICY = SendingSettings(batch_size=10, dispatch_window=100)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str, broker_prefix: str) -> Settings:
    return make_settings(database_url=pg_url, sending=POLICY, broker_key_prefix=broker_prefix)


@pytest.fixture
def send_id(settings: Settings, pg_sessions: sessionmaker[Session]) -> int:
    """A finished send of 6, then two hard bounces, a complaint and a delay notice back."""
    with pg_sessions.begin() as session:
        create_user(session, "operator", PASSWORD, "operator")
        add_subscribers(session, create_newsletter(session).id, 6)
        edition_id = add_example_edition(session, settings)
    queue: list[int] = []
    new_send = start_send(pg_sessions, edition_id, ("cronache",), 100, 10, queue.append)
    memory = MemoryTransport()
    runtime = Runtime(settings, lambda: memory)
    while queue:
        run_batch(runtime, queue.pop(0), queue.append)
    runtime.close()
    with pg_sessions.begin() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        reports = [
            ("hard", "5.1.1", "smtp; 550 5.1.1 <{}>: Recipient address rejected"),
            ("hard", "5.1.1", "smtp; 550 5.1.1 <{}>:  Recipient address rejected"),
            ("complaint", None, "abuse report: spam"),
            ("notice", "4.4.1", "delayed: connection timed out to mx.{}"),
        ]
        for row, (kind, code, text) in zip(rows, reports, strict=False):
            session.add(
                BounceEvent(
                    kind=kind, delivery_id=row.id, subscriber_id=row.subscriber_id,
                    list_id=row.list_id, status_code=code, received_at=utcnow(),
                    diagnostic=text.format(f"reader{row.id}@example.net"), source="verp",
                )
            )  # fmt: skip
    return new_send


@pytest.fixture
def app(settings: Settings, pg_sessions: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, sessions=pg_sessions)


@pytest.fixture
def operator(app: FastAPI, send_id: int) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"csrf_token": token, "username": "operator", "password": PASSWORD}
        assert client.post("/login", data=form | {"next": "/console"}).status_code == 303
        yield client


def test_the_console_groups_what_came_back_by_reason(operator: TestClient, send_id: int) -> None:
    page = operator.get(f"/console/sends/{send_id}").text
    assert "Tornati indietro, per motivo" in page
    assert "rimbalzo definitivo" in page and "segnalato come spam" in page
    assert "ritardo (nessun effetto)" in page
    assert "reader" not in page.split("Tornati indietro")[1]  # addresses are not shown
    data = operator.get(f"/console/sends/{send_id}/figures.json").json()
    assert data["bounces"][0] == {
        "kind": "hard",
        "status_code": "5.1.1",
        "reason": "smtp; 550 5.1.1 <address>: Recipient address rejected",
        "count": 2,
    }
    assert sorted(g["kind"] for g in data["bounces"]) == ["complaint", "hard", "notice"]
    api = operator.get(f"/api/sends/{send_id}").json()
    assert api["bounces"] == data["bounces"]


def test_dispatcher_status_prints_them_too(
    settings: Settings, send_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_keys[0]}
    result = CliRunner().invoke(cli, ["status", str(send_id)], env=env)
    assert result.exit_code == 0, result.output
    tail = result.output.split("came back, by reason:")[1]
    assert "2  hard" in tail and "5.1.1" in tail and "<address>" in tail
    assert "complaint" in tail and "notice" in tail
