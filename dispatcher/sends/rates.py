"""Sending rate from successive looks at a send's counts (pure, thread-safe).

The batches' counters move as workers record; a reader that looks every few
seconds (the console, a Prometheus scrape) keeps the last minute of
(time, messages settled) per send and divides. No query over the ledger needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

WINDOW_SECONDS = 60.0
MIN_SPAN_SECONDS = 2.0  # below this, two looks say more about timing than about speed
MAX_SENDS = 200


class RateTracker:
    """Messages per second per send, over the looks of the last ``window`` seconds."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self._window = window
        self._samples: OrderedDict[int, deque[tuple[float, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, send_id: int, at: float, settled: int) -> float | None:
        """Note that ``settled`` messages of the send were settled at ``at`` (seconds).

        :returns: the rate over the window, or None until the looks span a few seconds
        """
        with self._lock:
            samples = self._samples.setdefault(send_id, deque())
            self._samples.move_to_end(send_id)
            if len(self._samples) > MAX_SENDS:
                self._samples.popitem(last=False)
            if samples and settled < samples[-1][1]:
                samples.clear()  # counts went down (a retry reopened rows): start again
            samples.append((at, settled))
            while len(samples) > 2 and at - samples[1][0] >= self._window:
                samples.popleft()
            first_at, first = samples[0]
            span = at - first_at
            return (settled - first) / span if span >= MIN_SPAN_SECONDS else None
