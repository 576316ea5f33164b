"""The worker side of monitoring: heartbeats from each pool process, the beat's tick.

:func:`start_process` runs in each pool process after the fork (Celery's
``worker_process_init``) and :func:`stop_process` at its shutdown; both are
wired in :mod:`dispatcher.worker.app`. Heartbeats and the tick go to Redis when
there is one, else to the database (:mod:`dispatcher.monitoring.stored`).
Nothing here may make a task fail: trouble is logged, and delivery goes on.
"""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.config import Settings
from dispatcher.db import create_db_engine
from dispatcher.errors import ConfigurationError
from dispatcher.monitoring import beat, stored
from dispatcher.monitoring.connection import monitoring_redis
from dispatcher.monitoring.heartbeat import HeartbeatSink, HeartbeatThread, RedisSink, heartbeat_ttl
from dispatcher.monitoring.stored import DatabaseSink
from dispatcher.sends.activity import ACTIVITY

log = logging.getLogger(__name__)

_thread: HeartbeatThread | None = None
_client: redis.Redis | None = None
_engine: Engine | None = None  # the beat's tick without Redis


def start_process(settings: Settings) -> None:
    """Start this process's heartbeat thread: to Redis if there is one, else to the database."""
    global _thread, _client, _engine
    _client = None  # a client or engine inherited through fork is never used
    _engine = None
    ACTIVITY.reset()
    _thread = HeartbeatThread(_sink(settings), settings.heartbeat_seconds, ACTIVITY)
    _thread.start()


def _sink(settings: Settings) -> HeartbeatSink:
    if settings.redis is None:
        return DatabaseSink(settings.database_url)

    def client() -> redis.Redis:
        made = monitoring_redis(settings)
        if made is None:  # cannot happen: settings.redis was checked above
            raise ConfigurationError("worker heartbeats need Redis (REDIS_URL or BROKER_URL)")
        return made

    return RedisSink(client, settings.broker_key_prefix, heartbeat_ttl(settings.heartbeat_seconds))


def stop_process() -> None:
    """Stop the heartbeat and remove this process's key or row."""
    global _thread, _client, _engine
    if _thread is not None:
        _thread.stop()
        _thread = None
    if _client is not None:
        _client.close()
        _client = None
    if _engine is not None:
        _engine.dispose()
        _engine = None


def record_tick(settings: Settings) -> None:
    """Note that the reconciler just ran (for "last beat tick" on the console)."""
    global _client, _engine
    try:
        if settings.redis is None:
            if _engine is None:
                _engine = create_db_engine(settings.database_url)
            stored.record_tick(_engine, time.time())
            return
        if _client is None:
            _client = monitoring_redis(settings)
        if _client is not None:
            beat.record_tick(_client, settings.broker_key_prefix, time.time())
    except (redis.RedisError, SQLAlchemyError) as exc:
        log.warning("could not record the beat's tick: %s", exc)
