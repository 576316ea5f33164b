"""One check of a worker's heartbeat thread, whichever store it writes to (Redis or database)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from dispatcher.monitoring.heartbeat import HeartbeatThread
from dispatcher.sends.activity import Activity
from tests.support.sending import wait_until


def check_heartbeat_thread(
    thread: HeartbeatThread, activity: Activity, beats: Callable[[], Sequence[Any]]
) -> None:
    """Start ``thread``: it reports this process idle, then its batch at once, then leaves.

    :param beats: reads the heartbeats back from the store the thread writes to
    """
    thread.start()
    try:
        assert wait_until(lambda: len(beats()) == 1, timeout=5, interval=0.05)
        assert beats()[0].pid == os.getpid() and not beats()[0].busy
        activity.begin_batch(7, 3, 50)  # written at once, not at the next interval
        assert wait_until(lambda: beats()[0].busy, timeout=5, interval=0.05)
        assert (beats()[0].batch_id, beats()[0].send_id, beats()[0].claimed) == (7, 3, 50)
    finally:
        thread.stop()
    assert list(beats()) == []
