"""The Redis keys that monitoring reads and writes, under the broker's key prefix.

Every key starts with ``BROKER_KEY_PREFIX`` (kombu's ``global_keyprefix``), so
runs that share a Redis (tests, staging beside production) never see each
other's workers or queues.
"""

from __future__ import annotations

#: Celery's default queue; the dispatcher declares no other.
DEFAULT_QUEUES = ("celery",)
#: kombu's Redis transport keeps a list per queue and priority step: "celery",
#: "celery\x06\x163", "celery\x06\x166", "celery\x06\x169".
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
#: kombu's hash of messages delivered to a worker and not yet acknowledged.
UNACKED = "unacked"

WORKER_PREFIX = "dispatcher:worker:"
#: A sorted set: heartbeat key -> last write (epoch seconds), so readers need no SCAN.
WORKERS_INDEX = "dispatcher:workers"
BEAT_TICK = "dispatcher:beat:last_tick"


def worker_key(prefix: str, host: str, pid: int) -> str:
    return f"{prefix}{WORKER_PREFIX}{host}:{pid}"


def queue_keys(prefix: str, queue: str) -> list[str]:
    """The lists that hold ``queue``'s messages, one per priority step."""
    return [f"{prefix}{queue}"] + [
        f"{prefix}{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS
    ]
