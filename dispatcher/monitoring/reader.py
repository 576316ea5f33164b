"""One reader of the monitoring figures per web app: its Redis client, rate tracker and cache.

The console, the JSON API and ``/metrics`` share it, so the rate seen by one
look is remembered for the next, a send's failure groups are reused for a few
seconds, and one Redis connection pool serves them all. The sends' figures are
the read model of :mod:`dispatcher.sends.status`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.db import create_db_engine
from dispatcher.monitoring.connection import monitoring_redis
from dispatcher.monitoring.heartbeat import heartbeat_ttl
from dispatcher.monitoring.rabbit import is_amqp
from dispatcher.monitoring.system import (
    SystemFigures,
    read_stored,
    read_system,
    with_rabbit_queues,
)
from dispatcher.sends import status
from dispatcher.sends.rates import RateTracker
from dispatcher.sends.status import BounceGroup, FailureGroup, SendView

#: How long a send's failure groups are reused between looks.
FAILURE_SECONDS = 10.0
#: Sends whose failure groups are kept at most (the cache starts again past it).
FAILURE_CACHE_SIZE = 100
#: A send's failures by reply and what came back for it, by reason.
_Problems = tuple[tuple[FailureGroup, ...], tuple[BounceGroup, ...]]


class MonitoringReader:
    """Reads sends' figures from the database, the machinery's from Redis or, without
    Redis, from the database's heartbeats and RabbitMQ's queues."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rates = RateTracker()
        self._client: redis.Redis | None = None
        self._engine: Engine | None = None  # without Redis: the heartbeats' table
        self._lock = threading.Lock()
        self._failures: dict[int, tuple[float, _Problems]] = {}

    def system(self, now: float | None = None, session: Session | None = None) -> SystemFigures:
        """Queues, workers and the beat (says so when their store does not answer).

        :param session: the caller's session, when it has one open: without Redis the
            figures are read from the database, and on SQLite a second connection would
            wait for the write lock the caller's own transaction holds (BEGIN IMMEDIATE)
        """
        now = time.time() if now is None else now
        ttl = heartbeat_ttl(self.settings.heartbeat_seconds)
        client = self._redis()
        if client is not None:
            figures = read_system(client, self.settings.broker_key_prefix, now, ttl)
            if is_amqp(self.settings.broker_url):  # REDIS_URL beside RabbitMQ: queues there
                return with_rabbit_queues(figures, self.settings.broker_url)
            return figures
        try:
            if session is not None:
                return read_stored(session, self.settings.broker_url, now, ttl)
            with Session(self._database()) as own:
                return read_stored(own, self.settings.broker_url, now, ttl)
        except SQLAlchemyError as exc:
            problem = f"the database did not answer: {exc}"
            return SystemFigures(False, problem, problem_key="console.down_database")

    def sends(
        self, session: Session, now: dt.datetime, send_ids: list[int] | None = None
    ) -> list[SendView]:
        """The views of ``send_ids``, or of the sends worth watching."""
        ids = status.watched_send_ids(session) if send_ids is None else send_ids
        return status.send_views(session, ids, now, self.rates)

    def failures(self, session: Session, send_id: int) -> tuple[FailureGroup, ...]:
        """The send's failure groups, over a bounded sample, reused for a few seconds."""
        return self._problems(session, send_id)[0]

    def bounces(self, session: Session, send_id: int) -> tuple[BounceGroup, ...]:
        """What came back for the send, by reason, reused for a few seconds like failures."""
        return self._problems(session, send_id)[1]

    def _problems(self, session: Session, send_id: int) -> _Problems:
        hit = self._failures.get(send_id)
        if hit is not None and time.monotonic() - hit[0] < FAILURE_SECONDS:
            return hit[1]
        problems = (
            status.failure_groups(session, send_id, sample=status.FAILURE_SAMPLE),
            status.bounce_groups(session, send_id),
        )
        if len(self._failures) > FAILURE_CACHE_SIZE:
            self._failures.clear()
        self._failures[send_id] = (time.monotonic(), problems)
        return problems

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._engine is not None:
            self._engine.dispose()

    def _database(self) -> Engine:
        # An engine of its own, one connection: the heartbeats' table is read once a look.
        with self._lock:
            if self._engine is None:
                self._engine = create_db_engine(self.settings.database_url)
            return self._engine

    def _redis(self) -> redis.Redis | None:
        with self._lock:
            if self._client is None:
                self._client = monitoring_redis(self.settings)
            return self._client
