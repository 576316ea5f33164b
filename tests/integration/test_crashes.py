"""Crashes during a send: killed workers, a broker that loses everything, a database restart.

Each test starts what it breaks on its own (worker processes always; Redis and
PostgreSQL instances of their own for the tests that stop them), so the
machine's shared services are never touched. After each crash the send must
complete with nobody lost; a second copy is allowed only for a message that was
in flight at the crash, and that row is flagged in_doubt in the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.worker.tasks import enqueue_batch
from tests.integration.conftest import BROKERS
from tests.smtpd import SmtpServer
from tests.support.database import migrate
from tests.support.sending import (
    RECOVERY,
    assert_finished,
    assert_nobody_lost,
    kill_a_claiming_process,
    send_through_a_lost_broker,
    start_example_send,
    wait_until,
)
from tests.support.services import private_postgres, private_redis
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True, keep_data=False) as server:
        yield server


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_three_sigkills_during_twenty_thousand(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
    broker: str,
) -> None:
    """On Redis and on RabbitMQ: a killed worker's unacknowledged batch comes back."""
    settings = enqueuing_settings(smtp_url=smtpd.url, sending=RECOVERY, broker_url=broker)
    with WorkerProcess(settings, tmp_path, concurrency=2) as worker:
        send_id = start_example_send(pg_sessions, settings, 20_000, 500, enqueue_batch)
        for kill in range(3):
            assert wait_until(lambda k=kill: len(smtpd.accepted) > 3000 * (k + 1), timeout=120)
            kill_a_claiming_process(worker, pg_sessions)
        assert_finished(pg_sessions, send_id, worker, timeout=300)
    assert_nobody_lost(pg_sessions, smtpd, send_id, 20_000, crashes=3)


def test_redis_lost_and_restarted_during_a_send(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
) -> None:
    with private_redis() as redis:
        settings = enqueuing_settings(smtp_url=smtpd.url, sending=RECOVERY, broker_url=redis.url)

        def lose_and_restart() -> None:
            redis.stop()  # everything queued in the broker is gone
            time.sleep(3)
            redis.start()

        send_id = send_through_a_lost_broker(
            settings, pg_sessions, smtpd, tmp_path, lose_and_restart
        )
    assert_nobody_lost(pg_sessions, smtpd, send_id, 4000, crashes=1)


def test_postgresql_restarted_during_a_send(
    enqueuing_settings: Callable[..., Settings],
    smtpd: SmtpServer,
    tmp_path: Path,
) -> None:
    smtpd.delay("dot", 0.002, times=100_000)
    with private_postgres() as postgres:
        migrate(postgres.url)
        engine = create_db_engine(postgres.url)
        sessions = create_session_factory(engine)
        settings = enqueuing_settings(
            database_url=postgres.url, smtp_url=smtpd.url, sending=RECOVERY
        )
        with WorkerProcess(settings, tmp_path, concurrency=2) as worker:
            send_id = start_example_send(sessions, settings, 4000, 500, enqueue_batch)
            assert wait_until(lambda: len(smtpd.accepted) > 800, timeout=60)
            postgres.stop("fast")  # every connection is cut
            time.sleep(3)
            postgres.start()
            assert_finished(sessions, send_id, worker, timeout=240)
        assert_nobody_lost(sessions, smtpd, send_id, 4000, crashes=1)
        engine.dispose()
