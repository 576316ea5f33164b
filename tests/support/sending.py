"""Starting sends and waiting for them, as the CLI does, for tests."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import SendingSettings, Settings
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.models import Delivery, Send
from dispatcher.sends import ledger, reconcile
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.memory import MemoryTransport
from subscribers.models import Subscriber
from subscribers.orm import utcnow
from tests.smtpd import SmtpServer
from tests.support.data import add_readers_and_edition
from tests.support.worker import WorkerProcess

#: Timers short enough for a test with a real worker to see retries, leases and the
#: reconciler act within seconds; each test adds its batch size and lease.
_QUICK = SendingSettings(
    dispatch_window=4,
    redispatch_after=10,
    reconcile_interval=1,
    retry_base=1,
    retry_max_interval=2,
    relay_backoff_base=1,
    relay_backoff_max=2,
)


def quick_policy(**changes: Any) -> SendingSettings:
    """Sending settings with the quick timers above; ``changes`` set other fields."""
    return dataclasses.replace(_QUICK, **changes)


#: The crash tests' timers: a dead worker's claim comes back within seconds.
RECOVERY = quick_policy(batch_size=500, lease_seconds=5, redispatch_after=5)


def start_send(
    sessions: sessionmaker[Session],
    edition_id: int,
    lists: tuple[str, ...],
    window: int,
    batch_size: int,
    enqueue: Callable[[int], None],
    again: bool = False,
) -> int:
    """Create a send, write its ledger and enqueue its first batches (``send --now``)."""
    with sessions.begin() as session:
        send_id = ledger.create_send(session, edition_id, lists, utcnow(), again=again).id
    with sessions.begin() as session:
        ledger.start_send(session, send_id, utcnow(), batch_size)
        batch_ids = reconcile.take_pending(session, send_id, window, utcnow())
    for batch_id in batch_ids:
        enqueue(batch_id)
    return send_id


def edition_for(runtime: Runtime, readers: int) -> int:
    """The example newsletter with ``readers`` subscribers, and its edition; the edition's id."""
    with runtime.sessions.begin() as session:
        return add_readers_and_edition(session, runtime.settings, readers)


def drain(runtime: Runtime, batch_ids: list[int]) -> None:
    """Run the batches and those they enqueue in turn, as workers would, until none is left."""
    queue = list(batch_ids)
    while queue:
        run_batch(runtime, queue.pop(0), queue.append)


def start_example_send(
    sessions: sessionmaker[Session],
    settings: Settings,
    readers: int,
    batch_size: int,
    enqueue: Callable[[int], None],
) -> int:
    """The example edition to ``readers`` new subscribers, started with a window of 4.

    :returns: the send's id.
    """
    with sessions.begin() as session:
        edition_id = add_readers_and_edition(session, settings, readers)
    return start_send(sessions, edition_id, ("cronache",), 4, batch_size, enqueue)


def send_everything(
    runtime: Runtime, memory: MemoryTransport, edition_id: int
) -> list[OutgoingMessage]:
    """Send the edition to ``cronache`` now, running every batch here; the messages sent."""
    before = len(memory.sent)
    queue: list[int] = []
    size = runtime.settings.sending.batch_size
    start_send(runtime.sessions, edition_id, ("cronache",), 100, size, queue.append)
    drain(runtime, queue)
    return memory.sent[before:]


def wait_finished(sessions: sessionmaker[Session], send_id: int, timeout: float) -> str:
    """Wait for a send to leave the running state; returns the state it reached."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        with sessions() as session:
            state = session.scalar(select(Send.state).where(Send.id == send_id)) or ""
        if state not in ("running", "scheduled"):
            return state
        time.sleep(0.2)
    return state


def assert_finished(
    sessions: sessionmaker[Session], send_id: int, worker: WorkerProcess, timeout: float
) -> None:
    """Wait for the send to finish; if it ends otherwise or not in time, fail with the log."""
    assert wait_finished(sessions, send_id, timeout) == "finished", worker.log()


def ledger_rows(sessions: sessionmaker[Session], send_id: int) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.send_id == send_id)))


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def claiming_pids(sessions: sessionmaker[Session]) -> set[int]:
    """Pids of the processes holding claims right now (from the ledger's owner column)."""
    with sessions() as session:
        owners = session.scalars(
            select(Delivery.owner).where(Delivery.status == "sending").distinct()
        ).all()
    return {int(owner.split(":")[1]) for owner in owners if owner}


def kill_a_claiming_process(worker: WorkerProcess, sessions: sessionmaker[Session]) -> int:
    """SIGKILL a live pool process of ``worker`` that holds a claim right now."""
    chosen: list[int] = []

    def found() -> bool:
        live = claiming_pids(sessions) & set(worker.children())
        chosen[:] = sorted(live)[:1]
        return bool(chosen)

    if not wait_until(found, timeout=30, interval=0.02):
        raise RuntimeError("no live pool process held a claim")
    worker.kill(chosen[0])
    return chosen[0]


def assert_nobody_lost(
    sessions: sessionmaker[Session], smtpd: SmtpServer, send_id: int, count: int, crashes: int
) -> None:
    """Nobody lost; second copies only for rows flagged in doubt, at most one per crash."""
    rows = ledger_rows(sessions, send_id)
    assert Counter(row.status for row in rows) == Counter({"sent": count})
    with sessions() as session:
        emails = dict(session.execute(select(Subscriber.id, Subscriber.email)).all())
    received = Counter(rcpt for m in smtpd.accepted for rcpt in m.rcpt_tos)
    assert set(received) == {emails[row.subscriber_id] for row in rows}
    doubtful = {emails[row.subscriber_id] for row in rows if row.in_doubt}
    twice = {address for address, n in received.items() if n > 1}
    assert twice <= doubtful and max(received.values()) <= 2
    assert len(doubtful) <= crashes * 2  # one message in flight per pool process at most


def send_through_a_lost_broker(
    settings: Settings,
    sessions: sessionmaker[Session],
    smtpd: SmtpServer,
    workdir: Path,
    lose_and_restart: Callable[[], None],
    readers: int = 4000,
) -> int:
    """Send to ``readers`` through a real worker, losing the broker after 800 messages.

    :returns: the send's id, once the send has finished
    """
    from dispatcher.worker.tasks import enqueue_batch

    smtpd.delay("dot", 0.002, times=100_000)  # long enough a send to break it in the middle
    with WorkerProcess(settings, workdir, concurrency=2) as worker:
        send_id = start_example_send(sessions, settings, readers, 500, enqueue_batch)
        assert wait_until(lambda: len(smtpd.accepted) > 800, timeout=60), worker.log()
        lose_and_restart()
        assert_finished(sessions, send_id, worker, timeout=240)
    return send_id
