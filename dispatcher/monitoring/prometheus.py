"""``/metrics`` for Prometheus: a custom collector that reads the figures on each scrape.

Nothing is counted in the web process between scrapes (there may be several
web processes, and they see none of the sending): each scrape reads the sends'
states, the batches' counters of the sends being delivered (through the read
model of :mod:`dispatcher.sends.status`), and the Redis figures, the same
sources as the console.

Metrics:

- ``dispatcher_sends{state}``: sends per state
- ``dispatcher_send_deliveries{send_id, status}``: ledger rows per status of each
  running or paused send
- ``dispatcher_send_last_progress_age_seconds{send_id}``: since a batch of each running
  or paused send last finished (the alert "a send is stuck")
- ``dispatcher_send_relay_failures{send_id}``: relay connections failed in a row
- ``dispatcher_send_held_seconds{send_id}``: how long the send is still held back (0: not)
- ``dispatcher_queue_depth{queue}``, ``dispatcher_queue_unacked``: the broker
- ``dispatcher_workers_alive``, ``dispatcher_workers_busy``: from the heartbeats
- ``dispatcher_beat_last_tick_age_seconds``: since the reconciler last ran (NaN: never)
- ``dispatcher_monitoring_redis_up``: 1 when Redis (without Redis: the database and broker) answered
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.monitoring.system import SystemFigures
from dispatcher.sends import health, status


class DispatcherCollector(Collector):
    """Reads the database and Redis on every scrape."""

    def __init__(
        self, sessions: sessionmaker[Session], system: Callable[[float], SystemFigures]
    ) -> None:
        self._sessions = sessions
        self._system = system

    def collect(self) -> Iterator[Metric]:
        with self._sessions() as session:
            yield self._sends(session)
            yield self._deliveries(session)
            yield from send_health_metrics(
                health.open_send_health(session, dt.datetime.now(dt.UTC))
            )
        yield from system_metrics(self._system(time.time()))

    def _sends(self, session: Session) -> Metric:
        family = GaugeMetricFamily("dispatcher_sends", "Sends per state.", labels=["state"])
        for state, count in status.sends_per_state(session).items():
            family.add_metric([state], count)
        return family

    def _deliveries(self, session: Session) -> Metric:
        family = GaugeMetricFamily(
            "dispatcher_send_deliveries",
            "Ledger rows per status of each running or paused send.",
            labels=["send_id", "status"],
        )
        for send_id, counts in status.delivering_counts(session).items():
            for name, count in counts.items():
                family.add_metric([str(send_id), name], count)
        return family


_HEALTH_FIGURES = (
    ("dispatcher_send_last_progress_age_seconds", "progress_seconds_ago",
     "Seconds since a batch of the running or paused send last finished."),
    ("dispatcher_send_relay_failures", "relay_failures",
     "Relay connections that failed in a row (0 once a message goes through)."),
    ("dispatcher_send_held_seconds", "held_seconds",
     "Seconds the send is still held back by the relay or a sending limit (0: not held)."),
)  # fmt: skip


def send_health_metrics(sends: list[health.SendHealth]) -> Iterator[Metric]:
    """What the alerting rules read of each running or paused send."""
    for name, attribute, documentation in _HEALTH_FIGURES:
        family = GaugeMetricFamily(name, documentation, labels=["send_id"])
        for send in sends:
            family.add_metric([str(send.send_id)], getattr(send, attribute))
        yield family


def system_metrics(figures: SystemFigures) -> Iterator[Metric]:
    """The machinery's figures as metrics (zero, or NaN for ages, when they did not answer)."""
    yield _gauge("dispatcher_monitoring_redis_up", "1 if Redis (or, without Redis, the "
                 "database and the broker) answered.", int(figures.available))  # fmt: skip
    depth = GaugeMetricFamily(
        "dispatcher_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    for queue, count in figures.queues.items():
        depth.add_metric([queue], count)
    yield depth
    unacked = figures.unacked
    yield _gauge(
        "dispatcher_queue_unacked",
        "Messages taken by workers, not acknowledged (NaN: the broker does not say).",
        math.nan if unacked is None else unacked,
    )
    yield _gauge("dispatcher_workers_alive", "Worker processes with a live heartbeat.",
                 figures.workers_alive)  # fmt: skip
    yield _gauge("dispatcher_workers_busy", "Worker processes running a batch.",
                 figures.workers_busy)  # fmt: skip
    age = figures.beat_seconds_ago
    yield _gauge(
        "dispatcher_beat_last_tick_age_seconds",
        "Seconds since the reconciler last completed a run (NaN: never seen).",
        math.nan if age is None else age,
    )


def _gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)
