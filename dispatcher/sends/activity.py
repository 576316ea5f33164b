"""What this worker process is doing right now, for its heartbeat.

The batch loop updates it (a lock and a few integers: nothing that could slow a
message down); the heartbeat thread reads it and writes it to Redis. Each
process has its own, created at import and inherited empty by forked children.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Snapshot:
    """The process's activity at one moment (JSON-ready through :func:`dataclasses.asdict`)."""

    pid: int
    started_at: float  # epoch seconds
    batch_id: int | None
    send_id: int | None
    claimed: int  # rows claimed by the batch in progress
    done: int  # of which already recorded
    batches: int  # batches run since the process started
    messages: int  # outcomes recorded since the process started

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Activity:
    """The batch in progress and the process's totals; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Set when a batch starts or ends, so the heartbeat is written at once.
        self.changed = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a forked child starts from nothing)."""
        with self._lock:
            self._started = time.time()
            self._batch: tuple[int, int, int] | None = None
            self._done = self._batches = self._messages = 0

    def begin_batch(self, batch_id: int, send_id: int, claimed: int) -> None:
        with self._lock:
            self._batch, self._done = (batch_id, send_id, claimed), 0
        self.changed.set()

    def outcome(self) -> None:
        with self._lock:
            self._done += 1
            self._messages += 1

    def end_batch(self) -> None:
        with self._lock:
            self._batch = None
            self._batches += 1
        self.changed.set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            batch_id, send_id, claimed = self._batch or (None, None, 0)
            return Snapshot(
                os.getpid(), self._started, batch_id, send_id, claimed,
                self._done if self._batch else 0, self._batches, self._messages,
            )  # fmt: skip


#: This process's activity.
ACTIVITY = Activity()
