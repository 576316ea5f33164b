"""Rate limits for the public forms: so many hits per key (an IP, an address) per window.

With Redis (``settings.redis``) the count is shared by every web process, so the
limit holds however many run behind the load balancer; without it each process
counts in memory, which is enough for the single-process demo.

Redis counts in fixed windows (one ``INCR`` and an ``EXPIRE``: two commands, one
round trip): a burst across a window's edge may get up to twice the limit, which
is acceptable for stopping form abuse. Memory counts in a sliding window.

If Redis cannot be reached the limiter lets the request through and logs it:
a broken sign-up form costs the office more than a few extra sign-ups, which are
double opt-in anyway.
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

    :param url: the Redis URL
    :param prefix: key prefix (the deployment's, and the limiter's name)
    """

    def __init__(self, rate: Rate, url: str, prefix: str) -> None:
        self.rate = rate
        self._url = url
        self._prefix = prefix
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        window = int(time.time()) // self.rate.window
        name = f"{self._prefix}{key}:{window}"
        try:
            pipeline = self._redis().pipeline(transaction=True)
            pipeline.incr(name)
            pipeline.expire(name, self.rate.window + 1)
            count, _ = pipeline.execute()
        except redis.RedisError as exc:
            log.warning("rate limit %s not checked, Redis failed: %s", self._prefix, exc)
            return True
        return int(count) <= self.rate.limit

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
