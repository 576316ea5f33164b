"""One reader of the monitoring figures per web app: its Redis client and its rate tracker.

The console, the JSON API and ``/metrics`` share it, so the rate seen by one
look is remembered for the next, and one Redis connection pool serves them all.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import redis
from sqlalchemy.orm import Session

from dispatcher.config import Settings
from dispatcher.monitoring.connection import monitoring_redis
from dispatcher.monitoring.figures import SendFigures, send_figures, watched_send_ids
from dispatcher.monitoring.heartbeat import heartbeat_ttl
from dispatcher.monitoring.rates import RateTracker
from dispatcher.monitoring.system import SystemFigures, read_system


class MonitoringReader:
    """Reads sends' figures from the database and the machinery's from Redis."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rates = RateTracker()
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    def system(self, now: float | None = None) -> SystemFigures:
        """Queues, workers and the beat (says so when Redis is not there or does not answer)."""
        return read_system(
            self._redis(),
            self.settings.broker_key_prefix,
            time.time() if now is None else now,
            heartbeat_ttl(self.settings.heartbeat_seconds),
        )

    def sends(
        self, session: Session, now: dt.datetime, send_ids: list[int] | None = None
    ) -> list[SendFigures]:
        """The figures of ``send_ids``, or of the sends worth watching."""
        ids = watched_send_ids(session) if send_ids is None else send_ids
        return send_figures(session, ids, self.rates, now)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _redis(self) -> redis.Redis | None:
        with self._lock:
            if self._client is None:
                self._client = monitoring_redis(self.settings)
            return self._client
