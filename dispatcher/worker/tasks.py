"""Celery tasks: thin edges that take ids and call plain functions.

Task arguments are ids only. Celery's own retries are for infrastructure errors
(database or broker unreachable) with short countdowns; a recipient's 4xx is the
ledger's business (a deferred row), never a task retry.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import redis
from celery import Celery, Task
from sqlalchemy.exc import OperationalError

from dispatcher.config import Settings
from dispatcher.monitoring import worker as monitoring
from dispatcher.office.scheduling import run_reconciler
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime

log = logging.getLogger(__name__)

DELIVER_BATCH = "dispatcher.deliver_batch"
RECONCILE = "dispatcher.reconcile"
INFRASTRUCTURE_ERRORS = (
    OperationalError,
    psycopg.OperationalError,  # raised by the outcome writer's own connection
    redis.exceptions.ConnectionError,
    ConnectionError,
    TimeoutError,
)

_settings: Settings | None = None
_runtime: Runtime | None = None
_app: Celery | None = None


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def settings() -> Settings:
    """The settings given to :func:`configure`."""
    if _settings is None:
        raise RuntimeError("dispatcher.worker.tasks.configure() was not called")
    return _settings


def runtime() -> Runtime:
    """This process's runtime, created on first use (after the fork in workers)."""
    global _runtime
    if _runtime is None:
        if _settings is None:
            raise RuntimeError("dispatcher.worker.tasks.configure() was not called")
        _runtime = Runtime(_settings)
    return _runtime


def reset_runtime() -> None:
    """Forget anything inherited from the parent process; a fresh runtime comes on use."""
    global _runtime
    _runtime = None


def close_runtime() -> None:
    global _runtime
    if _runtime is not None:
        _runtime.close()
        _runtime = None


def enqueue_batch(batch_id: int) -> None:
    """Hand a batch to the broker (call only after the transaction that marked it commits)."""
    if _app is None:
        raise RuntimeError("dispatcher.worker.tasks.register() was not called")
    _app.send_task(DELIVER_BATCH, args=(batch_id,))


def deliver_batch(task: Task, batch_id: int) -> dict[str, Any]:
    try:
        report = run_batch(runtime(), batch_id, enqueue_batch)
    except INFRASTRUCTURE_ERRORS as exc:
        log.warning("batch %s: infrastructure error, retrying: %s", batch_id, exc)
        raise task.retry(exc=exc, countdown=5, max_retries=None) from exc
    return {"batch": batch_id, "claimed": report.claimed, "statuses": dict(report.statuses)}


def recover_orphans() -> None:
    """Take back the claims of this machine's dead worker processes, if it can now.

    Best effort: the next batch and the reconciler try again, so nothing here may
    stop a pool process from starting.
    """
    try:
        runtime().recover_orphans()
    except Exception as exc:  # noqa: BLE001 - logged; retried before every batch
        log.warning("dead workers' journals left for later: %s", exc)


def reconcile() -> dict[str, Any]:
    rt = runtime()
    report = run_reconciler(rt.sessions, rt.settings, rt.clock)
    for batch_id in report.enqueue:
        enqueue_batch(batch_id)
    # The console's "last beat tick" is the beat's alone: a run by hand must not hide a dead beat.
    monitoring.record_tick(rt.settings)
    return {"started": report.started, "enqueued": len(report.enqueue)}


def register(app: Celery) -> None:
    """Register the tasks on ``app`` (one Celery app per process)."""
    global _app
    _app = app
    app.task(name=DELIVER_BATCH, bind=True, acks_late=True)(deliver_batch)
    app.task(name=RECONCILE, acks_late=False)(reconcile)
