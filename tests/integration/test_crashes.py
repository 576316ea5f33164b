"""Crashes during a send: killed workers, a broker that loses everything, a database restart.

Each test starts what it breaks on its own (worker processes always; Redis and
PostgreSQL instances of their own for the tests that stop them), so the
machine's shared services are never touched. After each crash the send must
complete with nobody lost; a second copy is allowed only for a message that was
in flight at the crash, and that row is flagged in_doubt in the ledger.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.worker.tasks import enqueue_batch
from subscribers.models import Subscriber
from tests.smtpd import SmtpServer
from tests.support.database import migrate
from tests.support.sending import (
    assert_finished,
    kill_a_claiming_process,
    ledger_rows,
    quick_policy,
    start_example_send,
    wait_until,
)
from tests.support.services import private_postgres, private_redis
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECOVERY = quick_policy(batch_size=500, lease_seconds=5, redispatch_after=5)


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True, keep_data=False) as server:
        yield server


def _check_complete(
    sessions: sessionmaker[Session], smtpd: SmtpServer, send_id: int, count: int, crashes: int
) -> None:
    """Nobody lost; second copies only for rows flagged in doubt, at most one per crash."""
    rows = ledger_rows(sessions, send_id)
    assert Counter(row.status for row in rows) == Counter({"sent": count})
    with sessions() as session:
        emails = dict(session.execute(select(Subscriber.id, Subscriber.email)).all())
    received = Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)
    assert set(received) == {emails[row.subscriber_id] for row in rows}
    doubtful = {emails[row.subscriber_id] for row in rows if row.in_doubt}
    twice = {address for address, n in received.items() if n > 1}
    assert twice <= doubtful and max(received.values()) <= 2
    assert len(doubtful) <= crashes * 2  # one message in flight per pool process at most


def test_three_sigkills_during_twenty_thousand(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
) -> None:
    settings = enqueuing_settings(smtp_url=smtpd.url, sending=RECOVERY)
    with WorkerProcess(settings, tmp_path, concurrency=2) as worker:
        send_id = start_example_send(pg_sessions, settings, 20_000, 500, enqueue_batch)
        for kill in range(3):
            assert wait_until(lambda k=kill: len(smtpd.accepted) > 3000 * (k + 1), timeout=120)
            kill_a_claiming_process(worker, pg_sessions)
        assert_finished(pg_sessions, send_id, worker, timeout=300)
    _check_complete(pg_sessions, smtpd, send_id, 20_000, crashes=3)


def test_redis_lost_and_restarted_during_a_send(
    enqueuing_settings: Callable[..., Settings],
    pg_sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    tmp_path: Path,
) -> None:
    smtpd.delay("dot", 0.002, times=100_000)  # long enough a send to break it in the middle
    with private_redis() as redis:
        settings = enqueuing_settings(smtp_url=smtpd.url, sending=RECOVERY, broker_url=redis.url)
        with WorkerProcess(settings, tmp_path, concurrency=2) as worker:
            send_id = start_example_send(pg_sessions, settings, 4000, 500, enqueue_batch)
            assert wait_until(lambda: len(smtpd.accepted) > 800, timeout=60)
            redis.stop()  # everything queued in the broker is gone
            time.sleep(3)
            redis.start()
            assert_finished(pg_sessions, send_id, worker, timeout=240)
    _check_complete(pg_sessions, smtpd, send_id, 4000, crashes=1)


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
        _check_complete(sessions, smtpd, send_id, 4000, crashes=1)
        engine.dispose()
