"""Compute the next items of an iterator in a thread while the caller works on the current one.

The import validates chunk N+1 of a file while the database stores chunk N: the
database driver waits for the server without holding the GIL, so the two overlap.
Only pure work belongs in the thread; the session stays with the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.1  # how soon the thread notices that the caller gave up


class _End(Generic[T]):
    """The last entry of the hand-off queue: the iterator is exhausted, or raised ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


@contextmanager
def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[Iterator[T]]:
    """``items``, computed in a thread at most ``depth`` items ahead of the caller.

    An exception raised while computing an item is raised again in the caller's
    thread, where it takes that item's place. When the block is left early (by
    ``break`` or an exception) the thread stops before computing another item,
    and the block does not end before the thread does.
    """
    handoff: queue.Queue[T | _End[T]] = queue.Queue(depth)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(items, handoff, stop), name="prefetch", daemon=True
    )
    thread.start()
    try:
        yield _consume(handoff)
    finally:
        stop.set()
        thread.join()


def _produce(items: Iterable[T], handoff: queue.Queue[T | _End[T]], stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(handoff, item, stop):
                return
    except BaseException as exc:  # handed to the caller, who raises it
        _put(handoff, _End(exc), stop)
    else:
        _put(handoff, _End(), stop)


def _put(handoff: queue.Queue[T | _End[T]], entry: T | _End[T], stop: threading.Event) -> bool:
    """Queue ``entry`` unless the caller has given up; returns whether it was queued."""
    while not stop.is_set():
        try:
            handoff.put(entry, timeout=POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _consume(handoff: queue.Queue[T | _End[T]]) -> Iterator[T]:
    while not isinstance(entry := handoff.get(), _End):
        yield entry
    if entry.error is not None:
        raise entry.error
