"""Rate limits for the public forms: so many hits per key (an IP, an address) per window.

With Redis (``settings.redis``) the count is shared by every web process, so the
limit holds however many run behind the load balancer; without it each process
counts in memory, which is enough for the single-process demo.

Redis counts in fixed windows (one ``INCR`` and an ``EXPIRE``: two commands, one
round trip): a burst across a window's edge may get up to twice the limit, which
is acceptable for stopping form abuse. Memory counts in a sliding window.

If Redis cannot be reached the limiter falls back to counting in this process's
memory, with the same rate, and tries Redis again after :data:`REDIS_RETRY_SECONDS`.
It neither lets everything through (a Redis outage, or a blocked port, would turn
the login's throttle off while passwords are being guessed) nor refuses everything
(an outage would lock the office out of its admin and citizens out of the sign-up
form). With N web processes a visitor gets at most N times the rate while Redis is
down, and the outage is logged once, not once per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import redis

# Rate is a setting's type (LOGIN_RATE, SIGNUP_RATE...): it lives with the settings.
from dispatcher.config import Rate as Rate

log = logging.getLogger(__name__)

MEMORY_MAX_KEYS = 50_000  # beyond this, the memory limiter forgets the stalest keys
REDIS_RETRY_SECONDS = 5.0  # after a Redis failure, count in memory this long before retrying


class RateLimiter(Protocol):
    """Counts hits per key; says whether one more is allowed."""

    rate: Rate

    def hit(self, key: str) -> bool:
        """Count one hit for ``key``; True when it is within the rate."""
        ...


class MemoryRateLimiter:
    """A sliding-window limiter in this process's memory (thread-safe)."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.rate.window:
                hits.popleft()
            allowed = len(hits) < self.rate.limit
            if allowed:
                hits.append(now)
            self._hits[key] = hits  # re-inserted last: the dict stays in order of use
            self._forget_stalest()
            return allowed

    def _forget_stalest(self) -> None:
        while len(self._hits) > MEMORY_MAX_KEYS:
            del self._hits[next(iter(self._hits))]


class RedisRateLimiter:
    """A fixed-window limiter shared through Redis; the client is made on first use.

    While Redis fails, hits are counted by a :class:`MemoryRateLimiter` in this process.

    :param url: the Redis URL
    :param prefix: key prefix (the deployment's, and the limiter's name)
    """

    def __init__(
        self, rate: Rate, url: str, prefix: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self._url = url
        self._prefix = prefix
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._clock = clock
        self._fallback = MemoryRateLimiter(rate, clock)
        self._redis_down_until: float | None = None  # set during an outage

    def hit(self, key: str) -> bool:
        if self._redis_down_until is not None and self._clock() < self._redis_down_until:
            return self._fallback.hit(key)
        try:
            count = self._count(key)
        except redis.RedisError as exc:
            if self._redis_down_until is None:
                log.warning(
                    "rate limit %s: Redis failed (%s); counting in this process until it is back",
                    self._prefix,
                    exc,
                )
            self._redis_down_until = self._clock() + REDIS_RETRY_SECONDS
            return self._fallback.hit(key)
        if self._redis_down_until is not None:
            log.warning("rate limit %s: Redis is back", self._prefix)
            self._redis_down_until = None
        return count <= self.rate.limit

    def _count(self, key: str) -> int:
        """This window's hits for ``key``, this one included."""
        window = int(time.time()) // self.rate.window
        name = f"{self._prefix}{key}:{window}"
        pipeline = self._redis().pipeline(transaction=True)
        pipeline.incr(name)
        pipeline.expire(name, self.rate.window + 1)
        count, _ = pipeline.execute()
        return int(count)

    def _redis(self) -> redis.Redis:
        # Made on first use, never at import or app creation: web workers may fork after that.
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    self._url, socket_timeout=1.0, socket_connect_timeout=1.0
                )
            return self._client


def create_limiter(rate: Rate, redis_url: str | None, prefix: str) -> RateLimiter:
    """A Redis limiter when ``redis_url`` is given, else one in memory.

    :param prefix: the Redis key prefix, e.g. ``"<deployment prefix>ratelimit:signup:"``
    """
    if redis_url:
        return RedisRateLimiter(rate, redis_url, prefix)
    return MemoryRateLimiter(rate)
