"""Global limits in Redis: several processes together keep within the limit."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
from redis import Redis

from dispatcher.ratelimit import Limits, Pacer, RateLimited, RateLimiter
from tests.conftest import REDIS_URL

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
