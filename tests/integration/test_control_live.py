"""Pausing and resuming a real send: PostgreSQL, Redis, a Celery worker process, slow SMTP.

The SMTP server answers each message after a short delay, so the send lasts
several seconds; the test pauses it in the middle, checks that the relay stops
receiving (once the group of messages in progress is done), resumes it, and
compares what the server received with the ledger: everyone exactly once. The
console's figures (heartbeats, beat tick) are read from the real worker too, on
Redis and on RabbitMQ (where they come from the database).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.monitoring.reader import MonitoringReader
from dispatcher.sends import control, reconcile
from dispatcher.worker.tasks import enqueue_batch
from subscribers.orm import utcnow
from tests.integration.conftest import BROKERS
from tests.smtpd import SmtpServer
from tests.support.data import address
from tests.support.sending import (
    assert_finished,
    ledger_rows,
    start_example_send,
    wait_until,
)
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.sending(batch_size=100, lease_seconds=30)]

RECIPIENTS = 800


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with SmtpServer(pipelining=True, keep_data=False) as server:
        server.delay("dot", 0.02, times=100_000)  # about 50 messages/s per connection
        yield server


def _received(smtpd: SmtpServer) -> Counter[str]:
    return Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)


def _settled(smtpd: SmtpServer, quiet: float, timeout: float) -> int:
    """Wait until the server has received nothing new for ``quiet`` seconds; the count."""
    deadline = time.monotonic() + timeout
    count, since = len(smtpd.accepted), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = len(smtpd.accepted)
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return count
    raise AssertionError(f"the relay kept receiving after the pause ({count} messages)")


def _watch_a_send(
    sessions: sessionmaker[Session],
    settings: Settings,
    reader: MonitoringReader,
    worker: WorkerProcess,
    readers: int,
    size: int,
) -> None:
    """Send to ``readers``: the figures show a worker busy on it, then idle with all counted."""
    send_id = start_example_send(sessions, settings, readers, size, enqueue_batch)
    assert wait_until(
        lambda: any(w.busy and w.send_id == send_id for w in reader.system().workers),
        timeout=30,
    )
    assert_finished(sessions, send_id, worker, timeout=120)
    assert wait_until(lambda: reader.system().workers_busy == 0, timeout=15)
    assert sum(w.messages for w in reader.system().workers) == readers


def test_a_real_send_pauses_and_resumes_and_everyone_gets_it_once(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    send_id = start_example_send(pg_sessions, settings, RECIPIENTS, 100, enqueue_batch)
    assert wait_until(lambda: len(smtpd.accepted) >= 150, timeout=60), worker.log()

    with pg_sessions.begin() as session:
        control.pause_send(session, send_id, "paused by the live test", utcnow())
    # The groups in progress finish (each batch looks every 100 messages or 2 s)...
    stopped = _settled(smtpd, quiet=3.0, timeout=20)
    time.sleep(2)
    assert len(smtpd.accepted) == stopped  # ... and then nothing more goes out
    assert stopped < RECIPIENTS
    statuses = Counter(row.status for row in ledger_rows(pg_sessions, send_id))
    assert statuses["queued"] == RECIPIENTS - stopped and statuses["sending"] == 0
    assert statuses["sent"] == stopped

    with pg_sessions.begin() as session:
        control.resume_send(session, send_id, utcnow())
        batch_ids = reconcile.take_pending(session, send_id, 4, utcnow())
    for batch_id in batch_ids:
        enqueue_batch(batch_id)

    assert_finished(pg_sessions, send_id, worker, timeout=120)
    assert _received(smtpd) == Counter({address(i): 1 for i in range(RECIPIENTS)})
    assert {row.status for row in ledger_rows(pg_sessions, send_id)} == {"sent"}


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_the_console_sees_the_real_workers_and_the_beat(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, worker: WorkerProcess
) -> None:
    reader = MonitoringReader(settings)
    try:
        # Both pool processes write a heartbeat; the beat's reconciler ticks every second.
        assert wait_until(lambda: reader.system().workers_alive == 2, timeout=30), worker.log()
        assert wait_until(lambda: (reader.system().beat_seconds_ago or 99) < 5, timeout=30)
        pids = {w.pid for w in reader.system().workers}
        assert pids < set(worker.children())  # the pool's processes (the beat is one more)

        _watch_a_send(pg_sessions, settings, reader, worker, 400, 100)
    finally:
        reader.close()

    worker.stop()  # a clean shutdown removes the heartbeats at once
    assert MonitoringReader(settings).system().workers_alive == 0


def test_a_solo_worker_writes_its_own_heartbeat(
    pg_sessions: sessionmaker[Session], settings: Settings, smtpd: SmtpServer, tmp_path: Path
) -> None:
    reader = MonitoringReader(settings)
    try:
        with WorkerProcess(settings, tmp_path, pool="solo", concurrency=1, beat=False) as worker:
            assert wait_until(lambda: reader.system().workers_alive == 1, timeout=30), worker.log()
            (figures,) = reader.system().workers
            assert worker.process is not None and figures.pid == worker.process.pid

            _watch_a_send(pg_sessions, settings, reader, worker, 100, 50)
        assert reader.system().workers_alive == 0  # a clean shutdown removes the heartbeat
    finally:
        reader.close()


def test_a_worker_with_a_threaded_pool_refuses_to_start(settings: Settings, tmp_path: Path) -> None:
    worker = WorkerProcess(settings, tmp_path, pool="threads", beat=False)
    try:
        with pytest.raises(RuntimeError, match="needs --pool prefork or --pool solo"):
            worker.start(timeout=30)
    finally:
        worker.stop()  # if it did start, it must not outlive the test
