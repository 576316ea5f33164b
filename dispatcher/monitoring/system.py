"""What the machinery looks like right now: queues, workers, the beat.

With Redis (the broker, or ``REDIS_URL``) everything is read from its keys;
without it, workers and the beat come from the database and queue depth from
RabbitMQ when it is the broker (:func:`read_stored`).

The same figures feed the console, ``/metrics`` and ``dispatcher status``. A
read costs five Redis round trips at most; if Redis does not answer, the
figures say so instead of failing the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace

import redis
from sqlalchemy.orm import Session

from dispatcher.errors import BrokerUnavailableError
from dispatcher.monitoring import beat, keys, queues, rabbit, stored
from dispatcher.monitoring.heartbeat import Heartbeat, read_heartbeats


@dataclass(frozen=True)
class WorkerFigures:
    """One worker process, for display."""

    host: str
    pid: int
    parent_pid: int
    busy: bool
    send_id: int | None
    batch_id: int | None
    claimed: int
    done: int
    messages: int  # since the process started
    seen_seconds_ago: float
    up_seconds: float

    @classmethod
    def of(cls, heartbeat: Heartbeat, now: float) -> WorkerFigures:
        copied = {name: getattr(heartbeat, name) for name in _COPIED}
        return cls(
            **copied,
            seen_seconds_ago=round(max(0.0, now - heartbeat.last_seen), 1),
            up_seconds=round(max(0.0, now - heartbeat.started_at), 1),
        )


#: The heartbeat's own figures that a worker's figures show as they are.
_COPIED = tuple(
    f.name for f in fields(WorkerFigures) if f.name not in ("seen_seconds_ago", "up_seconds")
)


@dataclass(frozen=True)
class SystemFigures:
    """Queues, workers and the beat; ``available`` is False when Redis or the broker did not
    answer. ``unacked`` is None where the broker does not say (RabbitMQ whose
    management API does not answer, the SQL broker); ``queues`` is empty where it cannot be read."""

    available: bool
    problem: str | None = None
    queues: dict[str, int] = field(default_factory=dict)
    unacked: int | None = 0
    workers: tuple[WorkerFigures, ...] = ()
    beat_seconds_ago: float | None = None  # None: no tick recorded
    #: What ``problem`` says, as the key of the console's text for it (``problem`` is English).
    problem_key: str = ""

    @property
    def workers_alive(self) -> int:
        return len(self.workers)

    @property
    def workers_busy(self) -> int:
        return sum(1 for w in self.workers if w.busy)

    @property
    def queued_messages(self) -> int:
        return sum(self.queues.values())

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data |= {"workers_alive": self.workers_alive, "workers_busy": self.workers_busy}
        return data


def read_stored(
    session: Session,
    broker_url: str,
    now: float,
    heartbeat_ttl: float,
    queue_names: Sequence[str] = keys.DEFAULT_QUEUES,
) -> SystemFigures:
    """The figures without Redis: workers and the beat from the database, queues from
    RabbitMQ (a passive declare) when it is the broker; never raises for broker trouble."""
    tick = stored.last_tick(session)
    workers = tuple(
        WorkerFigures.of(h, now) for h in stored.read_heartbeats(session, now, heartbeat_ttl)
    )
    figures = SystemFigures(
        available=True,
        unacked=None,
        workers=workers,
        beat_seconds_ago=None if tick is None else round(max(0.0, now - tick), 1),
    )
    if not rabbit.is_amqp(broker_url):
        return figures  # the SQL broker of the embedded demo: no queue figures
    return with_rabbit_queues(figures, broker_url, queue_names)


def with_rabbit_queues(
    figures: SystemFigures, broker_url: str, queue_names: Sequence[str] = keys.DEFAULT_QUEUES
) -> SystemFigures:
    """``figures`` with RabbitMQ's ready counts and unacknowledged messages (None where its
    management API does not answer), or saying the broker did not answer."""
    if not figures.available:
        return figures
    try:
        depths = rabbit.queue_depths(broker_url, queue_names)
    except BrokerUnavailableError as exc:
        problem = f"RabbitMQ did not answer: {exc}"
        return replace(figures, available=False, problem=problem, problem_key="console.down_rabbit")
    return replace(figures, queues=depths, unacked=rabbit.unacked(broker_url, queue_names))


def read_system(
    client: redis.Redis | None,
    prefix: str,
    now: float,
    heartbeat_ttl: float,
    queue_names: Sequence[str] = keys.DEFAULT_QUEUES,
) -> SystemFigures:
    """Read the figures; never raises for Redis trouble (the figures say what went wrong)."""
    if client is None:
        problem = "the broker is not Redis: no queue or worker figures"
        return SystemFigures(False, problem, problem_key="console.down_not_redis")
    try:
        tick = beat.last_tick(client, prefix)
        return SystemFigures(
            available=True,
            queues=queues.queue_depths(client, prefix, queue_names),
            unacked=queues.unacked(client, prefix),
            workers=tuple(
                WorkerFigures.of(h, now)
                for h in read_heartbeats(client, prefix, now, heartbeat_ttl)
            ),
            beat_seconds_ago=None if tick is None else round(max(0.0, now - tick), 1),
        )
    except redis.RedisError as exc:
        return SystemFigures(
            False, f"Redis did not answer: {exc}", problem_key="console.down_redis"
        )
