"""The operators' console, its JSON, the read-only API and /metrics, against PostgreSQL and Redis.

Worker heartbeats, queue messages and the beat's tick are written to Redis under
the test's own key prefix, as workers would; the send's progress comes from a
batch really delivered through the in-memory transport.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.models import AuditEntry, Send
from dispatcher.monitoring import heartbeat, keys
from dispatcher.monitoring.beat import record_tick
from dispatcher.office.users import create_user
from dispatcher.sends.activity import Activity, Snapshot
from dispatcher.sends.batch import run_batch
from dispatcher.sends.rates import RateTracker
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.web.app import create_app
from tests.conftest import REDIS_URL
from tests.support.admin import PASSWORD, csrf_of, log_in
from tests.support.data import add_readers_and_edition
from tests.support.heartbeats import check_heartbeat_thread
from tests.support.sending import start_send

POLICY = SendingSettings(batch_size=10, dispatch_window=100)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    return make_settings(database_url=pg_url, sending=POLICY)


@pytest.fixture
def send_id(settings: Settings, pg_sessions: sessionmaker[Session]) -> int:
    """A running send of 25 messages: one batch delivered (9 sent, 1 failed), 15 queued."""
    with pg_sessions.begin() as session:
        for role in ("operator", "editor"):
            create_user(session, role, PASSWORD, role)
        edition_id = add_readers_and_edition(session, settings, 25)
    batches: list[int] = []
    new_send = start_send(pg_sessions, edition_id, ("cronache",), 100, 10, batches.append)
    memory = MemoryTransport()
    memory.responder = lambda m: (
        (550, f"5.1.1 <{m.recipient}>: user unknown") if m.delivery_id == 4 else (250, "ok")
    )
    runtime = Runtime(settings, lambda: memory)
    run_batch(runtime, batches[0], lambda _: None)
    runtime.close()
    return new_send


@pytest.fixture
def machinery(redis_store: redis.Redis, broker_prefix: str, send_id: int) -> None:
    """Two messages queued, one taken, one busy worker, a beat tick two seconds ago."""
    redis_store.lpush(f"{broker_prefix}celery", "m1", "m2")
    redis_store.lpush(f"{broker_prefix}celery{keys.PRIORITY_SEPARATOR}3", "m3")
    redis_store.hset(f"{broker_prefix}unacked", "tag", "m0")
    now = time.time()
    busy = Snapshot(4242, now - 60, 2, send_id, 10, 4, 7, 700)
    heartbeat.write_heartbeat(redis_store, broker_prefix, busy, ttl=15, now=now)
    record_tick(redis_store, broker_prefix, now - 2)


@pytest.fixture
def app(settings: Settings, pg_sessions: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, sessions=pg_sessions)


def _client(app: FastAPI, role: str | None = None, host: str = "testclient") -> TestClient:
    # https: the session cookie is Secure because PUBLIC_URL is https.
    client = TestClient(
        app, base_url="https://testserver", follow_redirects=False, client=(host, 50000)
    )
    if role is not None:
        log_in(client, role)
    return client


@pytest.fixture
def operator(app: FastAPI, send_id: int) -> Iterator[TestClient]:
    with _client(app, "operator") as client:
        yield client


# -- access ------------------------------------------------------------------------------------


def test_the_console_needs_an_operator(app: FastAPI, send_id: int) -> None:
    with _client(app) as anonymous:
        answer = anonymous.get("/console")
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/console"
    with _client(app, "editor") as editor:
        assert editor.get("/console").status_code == 403
        assert editor.get("/console/figures.json").status_code == 403


# -- pages and their JSON ----------------------------------------------------------------------


def test_the_overview_shows_each_send_with_counts_and_the_machinery(
    operator: TestClient, machinery: None
) -> None:
    page = operator.get("/console")
    assert page.status_code == 200
    assert "Cronache da Palazzo Cisterna n. 44" in page.text and "In corso" in page.text
    assert 'data-field="counts.sent" data-format="number">9<' in page.text
    assert "/console/assets/console.js" in page.text
    english = operator.get("/console?lang=en").text
    assert "Running" in english and "Live worker processes" in english


def test_the_overview_json_has_the_counts_rate_queues_workers_and_beat(
    operator: TestClient, machinery: None, send_id: int
) -> None:
    data = operator.get("/console/figures.json").json()
    send = next(s for s in data["sends"] if s["send_id"] == send_id)
    assert send["state"] == "running"
    assert {k: v for k, v in send["counts"].items() if v} == {"sent": 9, "failed": 1, "queued": 15}
    assert (send["total"], send["remaining"], send["settled"]) == (25, 15, 10)
    assert send["rate"] is not None and send["rate"] > 0
    assert send["eta_seconds"] is not None
    system = data["system"]
    assert system["available"] is True
    assert system["queues"] == {"celery": 3} and system["unacked"] == 1
    assert (system["workers_alive"], system["workers_busy"]) == (1, 1)
    worker = system["workers"][0]
    assert (worker["pid"], worker["send_id"], worker["batch_id"]) == (4242, send_id, 2)
    assert (worker["done"], worker["claimed"], worker["messages"]) == (4, 10, 700)
    assert 1.5 <= system["beat_seconds_ago"] < 10


def test_the_send_page_shows_failures_grouped_by_reply(
    operator: TestClient, machinery: None, send_id: int
) -> None:
    page = operator.get(f"/console/sends/{send_id}")
    assert page.status_code == 200
    assert "5.1.1 &lt;address&gt;: user unknown" in page.text
    assert 'action="/console/sends/1/pause"' in page.text
    data = operator.get(f"/console/sends/{send_id}/figures.json").json()
    assert data["send"]["counts"]["failed"] == 1
    assert data["failures"] == [
        {"status": "failed", "code": 550, "reply": "5.1.1 <address>: user unknown", "count": 1}
    ]
    assert operator.get("/console/sends/999").status_code == 404


def test_a_look_at_the_console_runs_no_query_over_the_ledger(
    operator: TestClient, pg_engine: Engine, machinery: None, send_id: int
) -> None:
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(pg_engine, "before_cursor_execute", seen)
    try:
        operator.get("/console/figures.json")
        overview = list(statements)
        statements.clear()
        operator.get(f"/console/sends/{send_id}/figures.json")
        detail = list(statements)
    finally:
        event.remove(pg_engine, "before_cursor_execute", seen)
    assert overview and not [s for s in overview if "deliveries" in s]
    ledger = [s for s in detail if "deliveries" in s]
    # Only bounded samples: the failures' by the (send_id, status) index, and the bounces'
    # driven from bounce_events, each probing the ledger by its key.
    assert len(ledger) == 2 and all("LIMIT" in s and "send_id =" in s for s in ledger)


# -- controls ----------------------------------------------------------------------------------


def test_pause_resume_and_cancel_from_the_send_page(
    operator: TestClient, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    page = f"/console/sends/{send_id}"
    token = csrf_of(operator.get(page).text)

    def state() -> tuple[str, str]:
        with pg_sessions() as session:
            send = session.get_one(Send, send_id)
            return send.state, send.state_reason

    answer = operator.post(f"{page}/pause", data={"csrf_token": token, "reason": "verifica"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{page}?result=paused"
    assert state() == ("paused", "verifica")
    assert "Invio messo in pausa." in operator.get(answer.headers["location"]).text

    assert operator.post(f"{page}/resume", data={"csrf_token": token}).status_code == 303
    assert state() == ("running", "")
    refused = operator.post(f"{page}/resume", data={"csrf_token": token})
    assert refused.headers["location"] == f"{page}?result=refused"

    unconfirmed = operator.post(f"{page}/cancel", data={"csrf_token": token})
    assert unconfirmed.headers["location"] == f"{page}?result=refused"
    assert state()[0] == "running"
    operator.post(f"{page}/cancel", data={"csrf_token": token, "confirm": "yes"})
    assert state() == ("cancelled", "cancelled from the console by operator")

    with pg_sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == send_id))
        assert list(actions) == ["send.paused", "send.resumed", "send.cancelled"]


def test_controls_need_the_csrf_token(
    operator: TestClient, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    assert operator.post(f"/console/sends/{send_id}/pause", data={}).status_code == 403
    with pg_sessions() as session:
        assert session.get_one(Send, send_id).state == "running"


def test_without_redis_the_console_still_answers_and_says_so(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    send_id: int,
) -> None:
    settings = make_settings(database_url=pg_url, redis_url="redis://127.0.0.1:1/0")
    with _client(create_app(settings, sessions=pg_sessions), "operator") as client:
        data = client.get("/console/figures.json").json()
        assert data["system"]["available"] is False
        assert "Redis did not answer" in data["system"]["problem"]
        assert data["sends"][0]["counts"]["sent"] == 9
        assert "Dati non disponibili" in client.get("/console").text


# -- the JSON API ------------------------------------------------------------------------------


def test_the_api_is_read_only_and_needs_a_login_or_a_token(
    app: FastAPI, machinery: None, send_id: int
) -> None:
    with _client(app) as anonymous:
        answer = anonymous.get("/api/sends")
        assert answer.status_code == 401 and answer.json() == {"error": "login required"}
        schema = anonymous.get("/api/openapi.json").json()
        assert {"/api/sends", "/api/sends/{send_id}", "/api/system"} <= set(schema["paths"])
        assert not any(p.startswith("/console") for p in schema["paths"])
    with _client(app, "editor") as editor:  # the office watches its sends too
        sends = editor.get("/api/sends").json()
        assert [s["send_id"] for s in sends] == [send_id]
        detail = editor.get(f"/api/sends/{send_id}").json()
        assert detail["lists"] == ["cronache"] and detail["failures"][0]["code"] == 550
        assert editor.get("/api/system").json()["queues"] == {"celery": 3}
        assert editor.get("/api/sends/999").status_code == 404
        assert editor.post("/api/sends").status_code in (401, 403, 405)


def test_a_script_reads_the_api_with_the_api_token(
    settings: Settings, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    with_tokens = settings.with_overrides(metrics_token="metrics-secret", api_token="api-secret")
    with _client(create_app(with_tokens, sessions=pg_sessions)) as script:
        assert (
            script.get("/api/sends", headers={"Authorization": "Bearer api-secret"}).status_code
            == 200
        )
        assert (
            script.get("/api/sends", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )


# -- /metrics ----------------------------------------------------------------------------------


def test_metrics_have_the_figures_for_prometheus(
    app: FastAPI, machinery: None, send_id: int
) -> None:
    with _client(app, host="127.0.0.1") as local:
        answer = local.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for line in (
        'dispatcher_sends{state="running"} 1.0',
        'dispatcher_sends{state="finished"} 0.0',
        f'dispatcher_send_deliveries{{send_id="{send_id}",status="sent"}} 9.0',
        f'dispatcher_send_deliveries{{send_id="{send_id}",status="queued"}} 15.0',
        'dispatcher_queue_depth{queue="celery"} 3.0',
        "dispatcher_queue_unacked 1.0",
        "dispatcher_workers_alive 1.0",
        "dispatcher_workers_busy 1.0",
        "dispatcher_monitoring_redis_up 1.0",
    ):
        assert line in text, line
    age = re.search(r"^dispatcher_beat_last_tick_age_seconds (\S+)$", text, re.M)
    assert age is not None and 1.5 <= float(age.group(1)) < 10


def test_metrics_are_for_loopback_or_a_bearer_token(
    app: FastAPI, settings: Settings, pg_sessions: sessionmaker[Session], send_id: int
) -> None:
    with _client(app, host="10.1.2.3") as remote:
        assert remote.get("/metrics").status_code == 403
    with _client(app, host="127.0.0.1") as proxied:
        assert (
            proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        )
    with_tokens = settings.with_overrides(metrics_token="metrics-secret", api_token="api-secret")
    with _client(create_app(with_tokens, sessions=pg_sessions), host="10.1.2.3") as scraper:
        good = scraper.get("/metrics", headers={"Authorization": "Bearer metrics-secret"})
        assert good.status_code == 200 and "dispatcher_sends" in good.text
        assert scraper.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403


# -- heartbeats and rates ----------------------------------------------------------------------


def test_a_heartbeat_thread_reports_the_batch_and_says_goodbye(
    redis_store: redis.Redis, broker_prefix: str
) -> None:
    activity = Activity()
    sink = heartbeat.RedisSink(lambda: redis.Redis.from_url(REDIS_URL), broker_prefix, 15.0)
    thread = heartbeat.HeartbeatThread(sink, 5.0, activity)

    def beats() -> list[heartbeat.Heartbeat]:
        return heartbeat.read_heartbeats(redis_store, broker_prefix, time.time(), 15)

    check_heartbeat_thread(thread, activity, beats)


def test_an_expired_heartbeat_no_longer_counts(
    redis_store: redis.Redis, broker_prefix: str
) -> None:
    snapshot = Snapshot(99, time.time(), None, None, 0, 0, 0, 0)
    heartbeat.write_heartbeat(redis_store, broker_prefix, snapshot, ttl=0.2, now=time.time())
    assert len(heartbeat.read_heartbeats(redis_store, broker_prefix, time.time(), 15)) == 1
    time.sleep(0.3)
    assert heartbeat.read_heartbeats(redis_store, broker_prefix, time.time(), 15) == []


def test_the_rate_is_taken_over_the_recent_looks() -> None:
    rates = RateTracker(window=60)
    assert rates.observe(1, 100.0, 0) is None
    assert rates.observe(1, 101.0, 50) is None  # too short a span to say
    assert rates.observe(1, 110.0, 1000) == pytest.approx(100.0)
    assert rates.observe(1, 200.0, 1000) == pytest.approx(0.0)  # older looks fell out
    assert rates.observe(1, 205.0, 10) is None  # counts went down: start again
