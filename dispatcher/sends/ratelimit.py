"""Global sending limits: token buckets in Redis, shared by every worker process.

Celery's ``rate_limit`` counts per worker; a provider's limit (say 14 messages a
second, 50,000 an hour) is per account. So the buckets live in Redis and each
acquisition is one atomic script that refills by the server's clock, checks
every bucket that applies and takes the tokens from all of them, or none.

The limits themselves live in Redis too (a hash), so ``dispatcher limits set``
changes them while a send runs, without restarting anything; workers re-read
them every few seconds.

- per second: a bucket of a tenth of a second's worth, so any 10 s window stays
  within 1% + a few messages of the limit;
- per hour: refills at limit/3600 a second with a minute's worth of burst, so no
  hour ever sees more than the limit plus a sixtieth;
- per recipient domain (optional, per minute): a message over it is not held by
  a sleeping worker but deferred until the domain's bucket has room.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis

from dispatcher.errors import DispatcherError

# KEYS: bucket keys; ARGV: requested, then (rate per second, capacity) for each bucket.
# Returns {granted, wait in ms until one more token}.
_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local want = tonumber(ARGV[1])
local levels = {}
local granted = want
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local cap = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1]) or cap
  local ts = tonumber(state[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate / 1000)
  levels[i] = tokens
  granted = math.min(granted, math.floor(tokens))
  if tokens < 1 then wait = math.max(wait, math.ceil((1 - tokens) / rate * 1000)) end
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local cap = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 'tokens', levels[i] - granted, 'ts', now)
  redis.call('PEXPIRE', key, math.ceil(cap / rate * 1000) + 60000)
end
return {granted, wait}
"""

LIMITS_KEY = "dispatcher:limits"
RELOAD_SECONDS = 3.0


@dataclass(frozen=True)
class Limits:
    """The limits in force; None or 0 means no limit."""

    per_second: float | None = None
    per_hour: float | None = None
    per_domain_minute: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> Limits:
        domains = {
            k[7:]: float(v) for k, v in raw.items() if k.startswith("domain:") and float(v) > 0
        }
        return cls(_number(raw.get("per_second")), _number(raw.get("per_hour")), domains)

    def to_hash(self) -> dict[str, str]:
        values = {"per_second": str(self.per_second or 0), "per_hour": str(self.per_hour or 0)}
        return values | {f"domain:{d}": str(n) for d, n in self.per_domain_minute.items()}


def _number(raw: str | None) -> float | None:
    value = float(raw) if raw else 0.0
    return value if value > 0 else None


def buckets(limits: Limits) -> list[tuple[str, float, float]]:
    """(name, rate per second, capacity) of the global buckets in force."""
    found = []
    if limits.per_second:
        found.append(("second", limits.per_second, max(1.0, limits.per_second / 10)))
    if limits.per_hour:
        found.append(("hour", limits.per_hour / 3600, max(1.0, limits.per_hour / 60)))
    return found


class RateLimiter:
    """One process's view of the shared buckets.

    :param redis: a client made after the fork
    :param prefix: key prefix (the broker's, so test runs never share buckets)
    :param defaults: limits used until someone sets them in Redis
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str = "",
        defaults: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._defaults = defaults or Limits()
        self._clock = clock
        self._script = redis.register_script(_ACQUIRE)
        self._limits = self._defaults
        self._loaded_at = float("-inf")

    @property
    def limits(self) -> Limits:
        """The limits in force, re-read from Redis every few seconds."""
        if self._clock() - self._loaded_at > RELOAD_SECONDS:
            raw = self._redis.hgetall(self._key(LIMITS_KEY))
            decoded = {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
            self._limits = Limits.from_hash(decoded) if decoded else self._defaults
            self._loaded_at = self._clock()
        return self._limits

    def acquire(self, count: int = 1) -> tuple[int, float]:
        """Take up to ``count`` tokens from every global bucket.

        :returns: (tokens granted, seconds until the next token if fewer were granted)
        """
        found = buckets(self.limits)
        if not found:
            return count, 0.0
        keys = [self._key(f"dispatcher:bucket:{name}") for name, _, _ in found]
        args: list[float] = [count]
        for _, rate, capacity in found:
            args += [rate, capacity]
        granted, wait_ms = self._script(keys=keys, args=args)
        return int(granted), int(wait_ms) / 1000

    def domain_wait(self, domain: str) -> float:
        """Take one token for a recipient domain; 0 if sent now, else seconds to wait."""
        per_minute = self.limits.per_domain_minute.get(domain.lower())
        if not per_minute:
            return 0.0
        key = self._key(f"dispatcher:bucket:domain:{domain.lower()}")
        granted, wait_ms = self._script(
            keys=[key], args=[1, per_minute / 60, max(1.0, per_minute / 6)]
        )
        return 0.0 if int(granted) else max(0.001, int(wait_ms) / 1000)

    def set_limits(self, limits: Limits) -> None:
        """Store new limits for every worker (they pick them up within seconds)."""
        key = self._key(LIMITS_KEY)
        pipe = self._redis.pipeline()
        pipe.delete(key)
        for name, value in limits.to_hash().items():
            pipe.hset(key, name, value)
        pipe.execute()
        self._loaded_at = float("-inf")

    def _key(self, name: str) -> str:
        return f"{self._prefix}{name}"


class RateLimited(DispatcherError):
    """The global budget is spent for longer than a worker should wait: hold the send."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"sending limit reached; next message in {wait:.0f} s")
        self.wait = wait


class Pacer:
    """Takes one token per message, fetching them from Redis a few at a time.

    Short waits (a busy per-second bucket) are slept here: the whole system must
    slow down. A wait longer than ``max_sleep`` (the hourly budget is spent)
    raises :class:`RateLimited`, so the batch gives its rows back instead.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        max_sleep: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limiter = limiter
        self._max_sleep = max_sleep
        self._sleep = sleep
        self._stash = 0

    def take(self) -> None:
        """Block until one message may go; :raises RateLimited: if that is too far off."""
        while self._stash == 0:
            granted, wait = self._limiter.acquire(self._chunk())
            if granted:
                self._stash = granted
                break
            if wait > self._max_sleep:
                raise RateLimited(wait)
            self._sleep(wait)
        self._stash -= 1

    def _chunk(self) -> int:
        # A twentieth of a second's worth at a time: few round trips to Redis, and
        # no process sits on tokens another could use.
        per_second = self._limiter.limits.per_second or 1000.0
        return max(1, int(per_second / 20))
