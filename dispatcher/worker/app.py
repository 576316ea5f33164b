"""The Celery application: configuration, per-process runtime, beat schedule.

``worker.py`` at the top of the repository calls :func:`create_celery` with the
settings read from the environment. Tasks live in :mod:`dispatcher.worker.tasks`.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.concurrency import ALIASES, get_implementation
from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)

from dispatcher.config import Settings
from dispatcher.monitoring import worker as monitoring
from dispatcher.monitoring.rabbit import is_amqp
from dispatcher.worker import tasks

# Pools that run each task in a process of its own. Threads, gevent and eventlet would run
# batches side by side in one process, sharing its one SMTP connection, its ledger
# connection and its activity record (the heartbeat).
SUPPORTED_POOLS = ("prefork", "solo")

# Countdowns of Celery's own retries stay far below this, so a retried task is
# never redelivered a second time by the Redis transport (kombu#337).
VISIBILITY_TIMEOUT = 3600


def create_celery(settings: Settings) -> Celery:
    """Build the Celery app for ``settings`` and register the tasks and the beat schedule."""
    app = Celery("dispatcher", broker=settings.broker_url, set_as_current=True)
    app.conf.update(_conf(settings))
    tasks.configure(settings)
    tasks.register(app)
    return app


def _transport_options(settings: Settings) -> dict[str, Any]:
    if is_amqp(settings.broker_url):
        # A publish returns once RabbitMQ has taken the message (written it, the queue
        # and the message being durable): `send --now` and the reconciler commit a
        # batch as queued, then publish; without confirms a broker crash right after
        # would lose it until the reconciler's redispatch.
        return {"confirm_publish": True}
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        # kombu's SQLAlchemy transport hands its options to create_engine(): give it
        # only what SQLite needs to wait for the other process's writes.
        return {"connect_args": {"timeout": 30}}
    options: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if settings.broker_key_prefix:
        options["global_keyprefix"] = settings.broker_key_prefix
    return options


def _conf(settings: Settings) -> dict[str, Any]:
    return _base_conf(settings) | _amqp_conf(settings)


def _amqp_conf(settings: Settings) -> dict[str, Any]:
    """RabbitMQ: durable classic queues, persistent messages (see the README's broker choice).

    Not quorum queues: they need a cluster to be worth more than a durable classic queue on
    one node, Celery sends countdown retries through its native delayed delivery, which
    needs topic exchanges and 28 extra queues per vhost, and RabbitMQ drops a message
    redelivered more times than the queue's delivery limit, where a crash loop must lose
    nothing.
    """
    if not is_amqp(settings.broker_url):
        return {}
    return {
        "task_default_queue_type": "classic",
        "task_create_missing_queues": True,
        "task_default_delivery_mode": "persistent",
        # Per-consumer prefetch (not global QoS): each pool process holds at most one
        # batch beyond the one it runs, as on Redis.
        "worker_prefetch_multiplier": 1,
    }


def _base_conf(settings: Settings) -> dict[str, Any]:
    transport_options = _transport_options(settings)
    return {
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "timezone": "UTC",
        "beat_schedule": {
            "reconcile": {
                "task": tasks.RECONCILE,
                "schedule": settings.sending.reconcile_interval,
                # A tick that waited longer than the interval is stale: the next one comes.
                "options": {"expires": settings.sending.reconcile_interval},
            }
        },
    }


@worker_process_init.connect
def _open_runtime(**_: object) -> None:
    tasks.reset_runtime()
    # Hook (monitoring): each pool process writes its heartbeat to Redis from a thread.
    monitoring.start_process(tasks.settings())
    # A pool process replacing a killed one takes back its claim at once, from its journal.
    tasks.recover_orphans()


@worker_process_shutdown.connect
def _close_runtime(**_: object) -> None:
    monitoring.stop_process()
    tasks.close_runtime()


@worker_shutdown.connect
def _close_solo_runtime(**_: object) -> None:
    # A solo pool sends worker_process_init but never worker_process_shutdown: its
    # heartbeat would outlive it until the key expired, and its relay connection would
    # end without a QUIT. A prefork pool's main process holds neither: nothing happens.
    _close_runtime()


@worker_init.connect
def _refuse_shared_process_pools(sender: Any = None, **_: object) -> None:
    pool = get_implementation(getattr(sender, "pool_cls", None) or "prefork")
    where = f"{pool.__module__}:{pool.__qualname__}"
    if where not in {ALIASES[name] for name in SUPPORTED_POOLS}:
        # SystemExit: Celery logs and swallows any Exception a signal handler raises.
        raise SystemExit(
            f"error: the dispatcher's worker needs --pool prefork or --pool solo, not {where}"
        )
