"""Watching the machinery: worker heartbeats, queue depth, the beat's last tick,
the console's figures and the Prometheus metrics.

Workers write small keys to Redis (a heartbeat per process, the reconciler's
tick); readers (the console, ``/metrics``, ``dispatcher status``) read those keys
and the batches' counters, so a look costs a few Redis commands and indexed
queries, never a Celery ``inspect`` broadcast or a GROUP BY over the ledger.
"""

from __future__ import annotations

from dispatcher.monitoring.system import SystemFigures, WorkerFigures, read_system

__all__ = ["SystemFigures", "WorkerFigures", "read_system"]
