"""Worker heartbeats: each worker process says who it is and what it does.

A heartbeat is a small JSON value under ``dispatcher:worker:<host>:<pid>`` with a
time to live of a few intervals: a process that dies stops renewing it and
drops off the console by itself. A sorted set indexes the keys by last write,
so readers fetch them in two commands. Without Redis,
:mod:`dispatcher.monitoring.stored` keeps the same JSON in a table.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from dispatcher.monitoring import keys
from dispatcher.sends.activity import Activity, Snapshot

log = logging.getLogger(__name__)

#: Index entries older than this are removed (their keys expired long ago).
INDEX_KEEP_SECONDS = 3600.0
#: A heartbeat not renewed for this many intervals (HEARTBEAT_SECONDS) means the
#: process is gone: one missed write is a busy moment, three are a dead process.
HEARTBEAT_MISSES = 3


def heartbeat_ttl(interval: float) -> float:
    """Seconds a heartbeat written every ``interval`` seconds stays readable."""
    return interval * HEARTBEAT_MISSES


@dataclass(frozen=True)
class Heartbeat:
    """One worker process as it last reported itself."""

    host: str
    pid: int
    parent_pid: int  # the worker's main process: processes with the same one are one worker
    started_at: float  # epoch seconds
    last_seen: float  # epoch seconds
    batch_id: int | None
    send_id: int | None
    claimed: int
    done: int
    batches: int
    messages: int

    @property
    def busy(self) -> bool:
        return self.batch_id is not None


def encode(snapshot: Snapshot, host: str, parent_pid: int, now: float) -> str:
    data: dict[str, Any] = snapshot.to_dict() | {
        "host": host,
        "parent_pid": parent_pid,
        "last_seen": now,
    }
    return json.dumps(data, separators=(",", ":"))


def decode(raw: bytes | str) -> Heartbeat | None:
    """A heartbeat from its JSON; None if it is not one (another version's, or damaged)."""
    try:
        data = json.loads(raw)
        return Heartbeat(
            host=str(data["host"]),
            pid=int(data["pid"]),
            parent_pid=int(data["parent_pid"]),
            started_at=float(data["started_at"]),
            last_seen=float(data["last_seen"]),
            batch_id=_optional_int(data.get("batch_id")),
            send_id=_optional_int(data.get("send_id")),
            claimed=int(data.get("claimed", 0)),
            done=int(data.get("done", 0)),
            batches=int(data.get("batches", 0)),
            messages=int(data.get("messages", 0)),
        )
    except (ValueError, TypeError, KeyError):
        return None


def write_heartbeat(
    client: redis.Redis, prefix: str, snapshot: Snapshot, ttl: float, now: float
) -> str:
    """Write one process's heartbeat; :returns: its key"""
    host = socket.gethostname()
    key = keys.worker_key(prefix, host, snapshot.pid)
    index = prefix + keys.WORKERS_INDEX
    with client.pipeline(transaction=False) as pipe:
        pipe.set(key, encode(snapshot, host, os.getppid(), now), px=int(ttl * 1000))
        pipe.zadd(index, {key: now})
        pipe.zremrangebyscore(index, "-inf", now - INDEX_KEEP_SECONDS)
        pipe.expire(index, int(INDEX_KEEP_SECONDS))  # gone with the last worker of a prefix
        pipe.execute()
    return key


def remove_heartbeat(client: redis.Redis, prefix: str, pid: int) -> None:
    """Say goodbye at a clean shutdown, so the console does not wait for the TTL."""
    key = keys.worker_key(prefix, socket.gethostname(), pid)
    with client.pipeline(transaction=False) as pipe:
        pipe.delete(key)
        pipe.zrem(prefix + keys.WORKERS_INDEX, key)
        pipe.execute()


def read_heartbeats(client: redis.Redis, prefix: str, now: float, ttl: float) -> list[Heartbeat]:
    """The heartbeats written within ``ttl`` seconds and not expired, by host and pid."""
    index = prefix + keys.WORKERS_INDEX
    names = [n for n in client.zrangebyscore(index, now - ttl, "+inf") if isinstance(n, bytes)]
    if not names:
        return []
    beats = (decode(raw) for raw in client.mget(names) if raw is not None)
    return sorted((b for b in beats if b is not None), key=lambda b: (b.host, b.pid))


class HeartbeatSink(Protocol):
    """Where a process's heartbeats go: Redis, or the database when there is no Redis."""

    #: What a write may raise when the store is unreachable (logged, never raised).
    errors: tuple[type[BaseException], ...]

    def open(self) -> None: ...
    def write(self, snapshot: Snapshot, now: float) -> None: ...
    def remove(self, pid: int) -> None: ...
    def close(self) -> None: ...


class RedisSink:
    """Heartbeats as Redis keys under the broker's prefix, with a TTL."""

    errors: tuple[type[BaseException], ...] = (redis.RedisError,)

    def __init__(self, client_factory: Callable[[], redis.Redis], prefix: str, ttl: float) -> None:
        self._factory, self._prefix, self._ttl = client_factory, prefix, ttl
        self._client: redis.Redis | None = None

    def open(self) -> None:
        self._client = self._factory()

    def write(self, snapshot: Snapshot, now: float) -> None:
        if self._client is not None:
            write_heartbeat(self._client, self._prefix, snapshot, self._ttl, now)

    def remove(self, pid: int) -> None:
        if self._client is not None:
            remove_heartbeat(self._client, self._prefix, pid)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class HeartbeatThread(threading.Thread):
    """Writes this process's heartbeat every interval, and at once when a batch starts or ends.

    It runs in each pool process (started after the fork); the store's errors are
    logged once per outage and never reach the tasks.
    """

    def __init__(self, sink: HeartbeatSink, interval: float, activity: Activity) -> None:
        super().__init__(name="dispatcher-heartbeat", daemon=True)
        self._sink, self._interval, self._activity = sink, interval, activity
        self._stopping = threading.Event()
        self._failing = False

    def run(self) -> None:
        self._sink.open()
        while not self._stopping.is_set():
            self._beat()
            self._activity.changed.wait(self._interval)
            self._activity.changed.clear()
        try:
            self._sink.remove(os.getpid())
        except self._sink.errors:
            pass  # the key expires, the row ages out
        self._sink.close()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        self._activity.changed.set()
        self.join(timeout)

    def _beat(self) -> None:
        try:
            self._sink.write(self._activity.snapshot(), time.time())
        except self._sink.errors as exc:
            if not self._failing:
                log.warning("heartbeat: its store is unreachable (%s); retrying quietly", exc)
            self._failing = True
        else:
            self._failing = False


def _optional_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
