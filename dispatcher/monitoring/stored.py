"""Heartbeats and the beat's tick in the database, for deployments without Redis.

With RabbitMQ as the broker (or the embedded SQLite one) there is no Redis to
hold the monitoring keys, and the broker is the wrong place for them: a
heartbeat must say a process is alive even when its queue is the thing that is
stuck. The database is there in every deployment, so each worker process
upserts one row per heartbeat interval (never per message: the sending hot path
does not touch it) and readers take the rows seen within the heartbeat's TTL.
The row's ``data`` is the JSON a Redis heartbeat holds, decoded by the same code.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dispatcher.db import create_db_engine
from dispatcher.models import MonitoringTick, WorkerHeartbeat
from dispatcher.monitoring.heartbeat import INDEX_KEEP_SECONDS, Heartbeat, decode, encode
from dispatcher.sends.activity import Snapshot

log = logging.getLogger(__name__)

BEAT_TICK = "beat"


def _upsert(engine: Engine, model: Any, values: dict[str, Any], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE: one statement, one round trip, in its own commit."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}
    )
    with engine.begin() as connection:
        connection.execute(statement)


def write_heartbeat(engine: Engine, snapshot: Snapshot, now: float) -> None:
    """Write this process's heartbeat row (and drop rows of this host gone for an hour)."""
    host = socket.gethostname()
    data = encode(snapshot, host, os.getppid(), now)
    _upsert(
        engine,
        WorkerHeartbeat,
        {"host": host, "pid": snapshot.pid, "last_seen": now, "data": data},
        ["host", "pid"],
    )


def forget_stale(engine: Engine, now: float) -> None:
    """Remove rows not renewed for an hour (dead processes of any host): at start-up only."""
    with engine.begin() as connection:
        connection.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < now - INDEX_KEEP_SECONDS)
        )


def remove_heartbeat(engine: Engine, pid: int) -> None:
    """Say goodbye at a clean shutdown, so the console does not wait for the TTL."""
    host = socket.gethostname()
    with engine.begin() as connection:
        connection.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.host == host, WorkerHeartbeat.pid == pid)
        )


def read_heartbeats(session: Session, now: float, ttl: float) -> list[Heartbeat]:
    """The heartbeats written within ``ttl`` seconds, by host and pid."""
    rows = session.scalars(
        select(WorkerHeartbeat.data).where(WorkerHeartbeat.last_seen >= now - ttl)
    )
    beats = (decode(raw) for raw in rows)
    return sorted((b for b in beats if b is not None), key=lambda b: (b.host, b.pid))


def record_tick(engine: Engine, now: float) -> None:
    _upsert(engine, MonitoringTick, {"name": BEAT_TICK, "at": now}, ["name"])


def last_tick(session: Session) -> float | None:
    """Epoch seconds of the last completed reconcile run, or None if there was none."""
    return session.scalar(select(MonitoringTick.at).where(MonitoringTick.name == BEAT_TICK))


class DatabaseSink:
    """Heartbeats as rows, through a small engine of the process's own (one connection)."""

    errors: tuple[type[BaseException], ...] = (SQLAlchemyError,)

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._engine: Engine | None = None

    def open(self) -> None:
        self._engine = create_db_engine(self._url)
        try:
            forget_stale(self._engine, time.time())
        except SQLAlchemyError as exc:
            log.warning("heartbeat: could not remove stale rows: %s", exc)

    def write(self, snapshot: Snapshot, now: float) -> None:
        if self._engine is not None:
            write_heartbeat(self._engine, snapshot, now)

    def remove(self, pid: int) -> None:
        if self._engine is not None:
            remove_heartbeat(self._engine, pid)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
