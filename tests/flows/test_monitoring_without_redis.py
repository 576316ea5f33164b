"""Monitoring without Redis: workers and the beat from PostgreSQL, queue depth from RabbitMQ.

With ``BROKER_URL=amqp://...`` and no ``REDIS_URL``, worker processes write their
heartbeats to the ``worker_heartbeats`` table and the reconciler its tick to
``monitoring_ticks``; the console, its JSON, ``/metrics`` and ``dispatcher status``
read them there, and read the queue's ready count from RabbitMQ with a passive
declare (each test in a vhost of its own). Unacknowledged messages are unknown.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from fastapi.testclient import TestClient
from kombu import Connection
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import Settings
from dispatcher.monitoring import stored
from dispatcher.monitoring.heartbeat import HeartbeatThread, write_heartbeat
from dispatcher.monitoring.reader import MonitoringReader
from dispatcher.office.users import create_user
from dispatcher.sends.activity import Activity, Snapshot
from dispatcher.web.app import create_app
from tests.conftest import REDIS_URL, SECRET
from tests.support.admin import PASSWORD, log_in
from tests.support.heartbeats import check_heartbeat_thread
from tests.support.sending import wait_until

TTL = 15.0


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str, rabbit_url: str) -> Settings:
    return make_settings(database_url=pg_url, broker_url=rabbit_url)


def _publish(url: str, queue: str, count: int) -> None:
    with Connection(url) as connection:
        simple = connection.SimpleQueue(queue)
        for n in range(count):
            simple.put({"n": n})
        simple.close()


@pytest.fixture
def machinery(settings: Settings, pg_engine: Engine, pg_sessions: sessionmaker[Session]) -> None:
    """Three messages ready in RabbitMQ, one busy worker's row, a beat tick two seconds ago."""
    _publish(settings.broker_url, "celery", 3)
    now = time.time()
    stored.write_heartbeat(pg_engine, Snapshot(4242, now - 60, 2, 5, 10, 4, 7, 700), now)
    stored.record_tick(pg_engine, now - 2)
    with pg_sessions.begin() as session:
        create_user(session, "operator", PASSWORD, "operator")


def test_a_heartbeat_thread_writes_a_row_reports_the_batch_and_says_goodbye(
    pg_url: str, pg_engine: Engine, pg_sessions: sessionmaker[Session]
) -> None:
    activity = Activity()
    thread = HeartbeatThread(stored.DatabaseSink(pg_url), 5.0, activity)

    def beats() -> list[stored.Heartbeat]:
        with pg_sessions() as session:
            return stored.read_heartbeats(session, time.time(), TTL)

    check_heartbeat_thread(thread, activity, beats)


def test_a_row_not_renewed_stops_counting_and_an_hour_old_one_is_removed(
    pg_engine: Engine, pg_sessions: sessionmaker[Session]
) -> None:
    now = time.time()
    stored.write_heartbeat(pg_engine, Snapshot(1, now, None, None, 0, 0, 0, 0), now - TTL - 1)
    stored.write_heartbeat(pg_engine, Snapshot(2, now, None, None, 0, 0, 0, 0), now - 7200)
    stored.write_heartbeat(pg_engine, Snapshot(3, now, None, None, 0, 0, 0, 0), now)
    with pg_sessions() as session:
        assert [b.pid for b in stored.read_heartbeats(session, now, TTL)] == [3]
    stored.forget_stale(pg_engine, now)
    with pg_sessions() as session:
        assert [b.pid for b in stored.read_heartbeats(session, now, 10_000)] == [1, 3]
        assert stored.last_tick(session) is None
    stored.record_tick(pg_engine, now - 5)
    stored.record_tick(pg_engine, now - 1)  # one row, rewritten in place
    with pg_sessions() as session:
        assert stored.last_tick(session) == pytest.approx(now - 1)


def test_the_reader_takes_rabbitmq_queues_and_the_stored_workers(
    settings: Settings, machinery: None
) -> None:
    reader = MonitoringReader(settings)
    try:
        figures = reader.system()
    finally:
        reader.close()
    assert figures.available and figures.problem is None
    assert figures.queues == {"celery": 3} and figures.unacked is None
    assert (figures.workers_alive, figures.workers_busy) == (1, 1)
    assert figures.workers[0].pid == 4242 and figures.workers[0].send_id == 5
    assert figures.beat_seconds_ago is not None and 1.5 <= figures.beat_seconds_ago < 10


def test_a_rabbitmq_that_does_not_answer_is_said_and_the_workers_still_shown(
    settings: Settings, machinery: None
) -> None:
    down = settings.with_overrides(broker_url="amqp://guest:guest@127.0.0.1:1//")
    figures = MonitoringReader(down).system()
    assert not figures.available
    assert figures.problem is not None and "RabbitMQ did not answer" in figures.problem
    assert figures.workers_alive == 1


def test_dispatcher_status_shows_queue_depth_and_live_workers(
    settings: Settings, machinery: None
) -> None:
    env = {
        "DATABASE_URL": settings.database_url,
        "BROKER_URL": settings.broker_url,
        "SECRET_KEY": settings.secret_keys[0],
    }
    result = CliRunner().invoke(cli, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "queues: celery 3 waiting, unknown taken by workers" in result.output
    assert "workers: 1 processes alive, 1 busy" in result.output
    assert re.search(r"beat: last tick \d s ago", result.output)
    assert "not Redis" not in result.output


@pytest.fixture
def client(settings: Settings, pg_sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings, sessions=pg_sessions)
    with TestClient(
        app, base_url="https://testserver", follow_redirects=False, client=("127.0.0.1", 50000)
    ) as client:
        yield client


def test_the_console_and_metrics_show_them(client: TestClient, machinery: None) -> None:
    metrics = client.get("/metrics").text
    for line in (
        'dispatcher_queue_depth{queue="celery"} 3.0',
        "dispatcher_queue_unacked NaN",
        "dispatcher_workers_alive 1.0",
        "dispatcher_workers_busy 1.0",
        "dispatcher_monitoring_redis_up 1.0",
    ):
        assert line in metrics, line
    log_in(client, "operator")
    system = client.get("/console/figures.json").json()["system"]
    assert system["available"] is True and system["queues"] == {"celery": 3}
    assert system["unacked"] is None and system["workers_alive"] == 1
    assert system["workers"][0]["pid"] == 4242
    assert 'data-system="workers_alive"' in client.get("/console").text


def test_with_redis_beside_rabbitmq_queues_still_come_from_rabbitmq(
    settings: Settings, machinery: None, redis_store: redis.Redis, broker_prefix: str
) -> None:
    # REDIS_URL for the shared rate limits: heartbeats go there, the queue stays RabbitMQ's.
    redis_store.lpush(f"{broker_prefix}celery", "not", "the", "queue", "at", "all")
    now = time.time()
    write_heartbeat(redis_store, broker_prefix, Snapshot(77, now, None, None, 0, 0, 0, 0), TTL, now)
    beside = settings.with_overrides(redis_url=REDIS_URL)
    figures = MonitoringReader(beside).system()
    assert figures.available and figures.queues == {"celery": 3} and figures.unacked is None
    assert [w.pid for w in figures.workers] == [77]


def test_the_embedded_demo_keeps_its_workers_in_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    # The demo's SQL broker: heartbeats and the tick in its SQLite file, no queue figures.
    demo = Settings(
        database_url=sqlite_url,
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        secret_keys=(SECRET,),
    )
    activity = Activity()
    thread = HeartbeatThread(stored.DatabaseSink(sqlite_url), 5.0, activity)
    thread.start()
    reader = MonitoringReader(demo)
    try:
        assert wait_until(lambda: reader.system().workers_alive == 1, 5, 0.05)
        activity.begin_batch(1, 1, 10)
        assert wait_until(lambda: reader.system().workers_busy == 1, 5, 0.05)
        figures = reader.system()
        assert figures.available and figures.queues == {} and figures.unacked is None
    finally:
        thread.stop()
        reader.close()
    result = CliRunner().invoke(
        cli,
        ["status"],
        env={"DATABASE_URL": sqlite_url, "BROKER_URL": demo.broker_url, "SECRET_KEY": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert "queues: not readable on this broker" in result.output
    assert "workers: 0 processes alive" in result.output  # the thread said goodbye
