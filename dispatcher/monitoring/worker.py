"""The worker side of monitoring: heartbeats from each pool process, the beat's tick.

:func:`start_process` runs in each pool process after the fork (Celery's
``worker_process_init``) and :func:`stop_process` at its shutdown; both are
wired in :mod:`dispatcher.worker.app`. Nothing here may make a task fail: Redis
trouble is logged, and delivery goes on.
"""

from __future__ import annotations

import logging
import time

import redis

from dispatcher.config import Settings
from dispatcher.errors import ConfigurationError
from dispatcher.monitoring import beat
from dispatcher.monitoring.connection import monitoring_redis
from dispatcher.monitoring.heartbeat import HeartbeatThread, heartbeat_ttl
from dispatcher.sends.activity import ACTIVITY

log = logging.getLogger(__name__)

_thread: HeartbeatThread | None = None
_client: redis.Redis | None = None


def start_process(settings: Settings) -> None:
    """Start this process's heartbeat thread (a no-op when the broker is not Redis)."""
    global _thread, _client
    _client = None  # a client inherited through fork is never used
    ACTIVITY.reset()
    if settings.redis is None:
        return

    def client() -> redis.Redis:
        made = monitoring_redis(settings)
        if made is None:  # cannot happen: settings.redis was checked above
            raise ConfigurationError("worker heartbeats need Redis (REDIS_URL or BROKER_URL)")
        return made

    _thread = HeartbeatThread(
        client,
        settings.broker_key_prefix,
        settings.heartbeat_seconds,
        heartbeat_ttl(settings.heartbeat_seconds),
        ACTIVITY,
    )
    _thread.start()


def stop_process() -> None:
    """Stop the heartbeat and remove this process's key."""
    global _thread, _client
    if _thread is not None:
        _thread.stop()
        _thread = None
    if _client is not None:
        _client.close()
        _client = None


def record_tick(settings: Settings) -> None:
    """Note that the reconciler just ran (for "last beat tick" on the console)."""
    global _client
    if settings.redis is None:
        return
    try:
        if _client is None:
            _client = monitoring_redis(settings)
        if _client is not None:
            beat.record_tick(_client, settings.broker_key_prefix, time.time())
    except redis.RedisError as exc:
        log.warning("could not record the beat's tick: %s", exc)
