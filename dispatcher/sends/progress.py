"""Counts per status, kept per batch, and the finishing of sends.

A GROUP BY over a million ledger rows takes a few hundred milliseconds; the
console must answer in under 100. So each batch keeps its rows' counts, refreshed
from the ledger whenever its rows change, and a send's counts are the sum of its
batches' (a few thousand rows at most).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dispatcher.models import Batch, BatchState, DeliveryStatus, Send, SendState
from dispatcher.sends.sql import sql

_COUNT_COLUMNS = {status: f"n_{status.value}" for status in DeliveryStatus}
_STATUSES = [status.value for status in DeliveryStatus]

_BATCH_COUNTS = sql(
    """
SELECT d.status, COUNT(*) FROM deliveries d, batches b
WHERE b.id = :batch_id AND d.send_id = b.send_id AND d.id BETWEEN b.first_id AND b.last_id
GROUP BY d.status
"""
)

_HAS_ACTIVE_ROWS = sql(
    """
SELECT 1 FROM deliveries
WHERE send_id = :send_id AND status IN ('queued', 'sending', 'deferred') LIMIT 1
"""
)


def refresh_batch(session: Session, batch_id: int) -> dict[str, int]:
    """Recount one batch's rows from the ledger and store the counts on the batch."""
    counts = {column: 0 for column in _COUNT_COLUMNS.values()}
    for status, count in session.execute(_BATCH_COUNTS, {"batch_id": batch_id}):
        counts[_COUNT_COLUMNS[DeliveryStatus(status)]] = count
    session.execute(update(Batch).where(Batch.id == batch_id).values(**counts))
    return counts


def batch_of(session: Session, send_id: int, delivery_id: int) -> int | None:
    """The batch whose range holds a delivery."""
    return session.scalar(
        select(Batch.id).where(
            Batch.send_id == send_id,
            Batch.first_id <= delivery_id,
            Batch.last_id >= delivery_id,
        )
    )


def refresh_batches_of(session: Session, rows: Iterable[tuple[int, int]]) -> list[int]:
    """Recount the batches holding the given (send_id, delivery_id) rows.

    :returns: the ids of those batches
    """
    batch_ids = {batch_of(session, send_id, delivery_id) for send_id, delivery_id in rows}
    found = sorted(b for b in batch_ids if b is not None)
    for batch_id in found:
        refresh_batch(session, batch_id)
    return found


def reopen_batches_of(
    session: Session, rows: Iterable[tuple[int, int]], now: dt.datetime
) -> list[int]:
    """Recount the batches holding these rows and mark them pending, to be dispatched again."""
    found = refresh_batches_of(session, rows)
    if found:
        session.execute(
            update(Batch)
            .where(Batch.id.in_(found))
            .values(state=BatchState.PENDING.value, touched_at=now)
        )
    return found


def counts_of(session: Session, send_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows per status for each send, summed from its batches' counts."""
    columns = [func.coalesce(func.sum(getattr(Batch, c)), 0) for c in _COUNT_COLUMNS.values()]
    rows = session.execute(
        select(Batch.send_id, *columns).where(Batch.send_id.in_(send_ids)).group_by(Batch.send_id)
    )
    found = {row[0]: dict(zip(_STATUSES, map(int, row[1:]), strict=True)) for row in rows}
    return {i: found.get(i, dict.fromkeys(_STATUSES, 0)) for i in send_ids}


def send_counts(session: Session, send_id: int) -> dict[str, int]:
    """Rows per status for a send, from the batches' counts."""
    return counts_of(session, [send_id])[send_id]


def has_active_rows(session: Session, send_id: int) -> bool:
    """Whether any row is still queued, sending or deferred (read from the ledger itself)."""
    return session.execute(_HAS_ACTIVE_ROWS, {"send_id": send_id}).first() is not None


_SKIP_UNSENT = sql(
    """
UPDATE deliveries SET status = 'skipped', owner = NULL, due_at = NULL, smtp_reply = :reply
WHERE send_id = :send_id AND status IN ('queued', 'deferred')
"""
)

# The counts move with the rows; a batch that a task is running is recounted when it ends.
_SKIP_IN_BATCHES = sql(
    """
UPDATE batches SET n_skipped = n_skipped + n_queued + n_deferred, n_queued = 0, n_deferred = 0,
       state = 'done', touched_at = :now, finished_at = COALESCE(finished_at, :now)
WHERE send_id = :send_id AND state <> 'running'
"""
)


def skip_unsent(session: Session, send_id: int, now: dt.datetime, reply: str) -> int:
    """Settle a send's queued and deferred rows as ``skipped`` with ``reply`` (a cancel, a
    correction that replaces them); rows being sent finish. :returns: how many"""
    params = {"send_id": send_id, "now": now}
    skipped = session.execute(_SKIP_UNSENT, params | {"reply": reply})
    session.execute(_SKIP_IN_BATCHES, params)
    return int(skipped.rowcount)  # type: ignore[attr-defined]


def finish_if_done(session: Session, send_id: int, now: dt.datetime) -> bool:
    """Mark a running send finished when no batch is open and no row is left to settle.

    :returns: whether the send is now finished
    """
    open_batches = session.scalar(
        select(func.count())
        .select_from(Batch)
        .where(Batch.send_id == send_id, Batch.state != BatchState.DONE.value)
    )
    if open_batches or has_active_rows(session, send_id):
        return False
    result = session.execute(
        update(Send)
        .where(Send.id == send_id, Send.state == SendState.RUNNING.value)
        .values(state=SendState.FINISHED.value, finished_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def close_batch(session: Session, batch_id: int, *, reopen: bool, now: dt.datetime) -> None:
    """End a task's run of a batch: pending again if rows went back, otherwise done."""
    state = BatchState.PENDING if reopen else BatchState.DONE
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(state=state.value, touched_at=now, finished_at=None if reopen else now)
    )
