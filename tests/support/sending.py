"""Starting sends and waiting for them, as the CLI does, for tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.models import Delivery, Send
from dispatcher.sends import ledger, reconcile
from dispatcher.sends.batch import run_batch
from dispatcher.sends.runtime import Runtime
from subscribers.orm import utcnow
from tests.support.worker import WorkerProcess


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


def drain(runtime: Runtime, batch_ids: list[int]) -> None:
    """Run batches in this process, as the worker would, with the follow-ups they enqueue."""
    queue = list(batch_ids)
    while queue:
        run_batch(runtime, queue.pop(0), queue.append)
