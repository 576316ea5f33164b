"""Global limits in Redis: several processes together keep within the limit."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.sends.batch import run_batch
from dispatcher.sends.ratelimit import Limits, Pacer, RateLimited, RateLimiter
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from dispatcher.worker.app import create_celery
from dispatcher.worker.tasks import enqueue_batch
from tests.conftest import REDIS_URL
from tests.smtpd import SmtpServer
from tests.support.data import (
    add_example_edition,
    add_readers_and_edition,
    add_subscribers,
    create_newsletter,
)
from tests.support.sending import assert_finished, ledger_rows, start_send
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.integration


def _limiter(prefix: str) -> RateLimiter:
    return RateLimiter(Redis.from_url(REDIS_URL), prefix)


def _take_for(prefix: str, seconds: float, counts: multiprocessing.Queue[list[float]]) -> None:
    pacer = Pacer(_limiter(prefix))
    stamps = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pacer.take()
        stamps.append(time.time())
    counts.put(stamps)


@pytest.fixture
def prefix() -> str:
    return f"test-rl-{uuid.uuid4().hex[:8]}:"


def test_two_processes_together_stay_within_five_percent_of_the_limit(prefix: str) -> None:
    _limiter(prefix).set_limits(Limits(per_second=200))
    queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_take_for, args=(prefix, 6.0, queue)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    first, second = queue.get(timeout=30), queue.get(timeout=30)
    for worker in workers:
        worker.join(10)
    stamps = sorted(first + second)
    window = [s for s in stamps if stamps[0] + 1 <= s < stamps[0] + 5]  # steady 4 s
    assert 0.95 * 200 * 4 <= len(window) <= 1.05 * 200 * 4
    assert min(len(first), len(second)) > 0.3 * len(stamps)  # both got their share


def test_limits_changed_in_redis_apply_without_a_restart(prefix: str) -> None:
    limiter = _limiter(prefix)
    limiter.set_limits(Limits(per_second=50))
    pacer = Pacer(limiter)
    started = time.monotonic()
    for _ in range(100):
        pacer.take()
    slow = time.monotonic() - started
    limiter.set_limits(Limits(per_second=1000))
    started = time.monotonic()
    for _ in range(300):
        pacer.take()
    fast = time.monotonic() - started
    assert slow > 1.5 and fast < slow


def test_a_spent_hourly_budget_is_reported_not_slept(prefix: str) -> None:
    limiter = _limiter(prefix)
    limiter.set_limits(Limits(per_hour=60))  # a minute's worth of burst: 1 message
    pacer = Pacer(limiter, max_sleep=5)
    pacer.take()
    with pytest.raises(RateLimited) as raised:
        pacer.take()
    assert 50 < raised.value.wait <= 61


def test_a_domain_over_its_limit_waits_and_others_do_not(prefix: str) -> None:
    limiter = _limiter(prefix)
    limiter.set_limits(Limits(per_domain_minute={"example.net": 6}))
    waits = [limiter.domain_wait("Example.NET") for _ in range(3)]
    assert waits[0] == 0 and waits[1] > 5 and waits[2] > 5
    assert limiter.domain_wait("example.org") == 0


def test_two_real_workers_sending_stay_within_five_percent_of_the_limit(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    broker_prefix: str,
    tmp_path: Path,
) -> None:
    limit, count = 60.0, 900
    with SmtpServer(keep_data=False) as relay:
        sending = SendingSettings(batch_size=100, dispatch_window=6, reconcile_interval=1)
        settings = make_settings(
            database_url=pg_url,
            smtp_url=relay.url,
            sending=sending,
        )
        create_celery(settings)
        RateLimiter(Redis.from_url(REDIS_URL), broker_prefix).set_limits(Limits(per_second=limit))
        with pg_sessions.begin() as session:
            edition_id = add_readers_and_edition(session, settings, count)
        first = WorkerProcess(settings, tmp_path, concurrency=1, name="w1")
        second = WorkerProcess(settings, tmp_path, concurrency=1, name="w2", beat=False)
        with first, second:
            send_id = start_send(pg_sessions, edition_id, ("cronache",), 6, 100, enqueue_batch)
            assert_finished(pg_sessions, send_id, first, timeout=120)
            both = [w.log_path.read_text().count("deliver_batch[") for w in (first, second)]
            assert min(both) > 0  # the two processes really shared the work
    rows = ledger_rows(pg_sessions, send_id)
    assert {row.status for row in rows} == {"sent"}
    times = sorted(row.last_attempt_at.timestamp() for row in rows)  # type: ignore[union-attr]
    steady = [t for t in times if times[0] + 1 <= t < times[-1] - 1]
    rate = len(steady) / (steady[-1] - steady[0])
    assert 0.95 * limit <= rate <= 1.05 * limit, rate


def test_a_domain_over_its_limit_is_put_off_without_spending_attempts(
    make_settings: Callable[..., Settings],
    pg_url: str,
    pg_sessions: sessionmaker[Session],
    broker_prefix: str,
) -> None:
    settings = make_settings(database_url=pg_url)
    RateLimiter(Redis.from_url(REDIS_URL), broker_prefix).set_limits(
        Limits(per_domain_minute={"example.net": 6})
    )
    memory = MemoryTransport()
    runtime = Runtime(settings, lambda: memory)
    with pg_sessions.begin() as session:
        newsletter = create_newsletter(session)
        add_subscribers(session, newsletter.id, 3, domain="example.net")
        add_subscribers(session, newsletter.id, 3, start=10, domain="example.org")
        edition_id = add_example_edition(session, settings)
    batches: list[int] = []
    start_send(pg_sessions, edition_id, ("cronache",), 10, 100, batches.append)
    run_batch(runtime, batches[0], lambda _: None)
    runtime.close()
    rows = ledger_rows(pg_sessions, 1)
    put_off = [row for row in rows if row.status == "deferred"]
    assert len(memory.sent) == 4  # three to example.org, one to example.net
    assert len(put_off) == 2 and all(row.attempts == 0 for row in put_off)
    assert all("sending limit for example.net" in (row.smtp_reply or "") for row in put_off)
