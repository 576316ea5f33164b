"""A Redis client for monitoring, with short timeouts: a page must not hang on Redis."""

from __future__ import annotations

import redis

from dispatcher.config import Settings

TIMEOUT_SECONDS = 1.0


def monitoring_redis(settings: Settings, timeout: float = TIMEOUT_SECONDS) -> redis.Redis | None:
    """A client for ``settings.redis``, or None when the broker is not Redis (the demo)."""
    url = settings.redis
    if url is None:
        return None
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
