"""The reconciler: what the beat runs every few seconds to keep every send moving.

The broker only says "go"; the database is the truth. So nothing here trusts
the broker to redeliver: the reconciler starts sends whose time has come, takes
back rows whose lease expired (marking the one that may have been in flight
``uncertain``), reopens batches whose deferred rows are due, re-enqueues batches
that no task picked up, tops up each running send's window of enqueued batches,
and finishes sends with nothing left to settle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dispatcher.config import SendingSettings
from dispatcher.models import Batch, BatchState, Send, SendState
from dispatcher.sends import control, ledger, progress
from dispatcher.sends.journal import FOLD_EVERY
from dispatcher.sends.sql import sql

IN_FLIGHT_REPLY = "no reply recorded: the worker stopped while this message was in flight"
LOST_JOURNAL_REPLY = (
    "no reply recorded: the worker's claim ran out and its journal was not found, "
    "so this message may have gone"
)


@dataclass
class ReconcileReport:
    """What one reconciler run did; ``enqueue`` lists batches to hand to the broker."""

    started: list[int] = field(default_factory=list)
    enqueue: list[int] = field(default_factory=list)
    uncertain: int = 0
    requeued: int = 0
    finished: list[int] = field(default_factory=list)


_EXPIRED_OWNERS = sql(
    "SELECT DISTINCT owner FROM deliveries WHERE status = 'sending' AND due_at < :now"
)

_FIRST_OF_OWNER = sql(
    """
SELECT id, send_id FROM deliveries WHERE owner = :owner AND status = 'sending'
ORDER BY id LIMIT :count
"""
)

_MARK_IN_FLIGHT = sql(
    """
UPDATE deliveries SET status = :status, owner = NULL, due_at = :due, in_doubt = true,
       smtp_reply = :reply, attempts = attempts + 1, last_attempt_at = :now
WHERE owner = :owner AND status = 'sending' AND id <= :last_id
"""
)

_REQUEUE_OWNER = sql(
    """
UPDATE deliveries SET status = 'queued', owner = NULL, due_at = NULL
WHERE owner = :owner AND status = 'sending'
"""
)

# Batches holding deferred rows whose time has come; driven by the (status, due_at) index.
_REOPEN_DUE = sql(
    """
UPDATE batches SET state = 'pending', touched_at = :now
WHERE state = 'done' AND id IN (
  SELECT DISTINCT b.id FROM deliveries d
  JOIN batches b ON b.send_id = d.send_id AND d.id BETWEEN b.first_id AND b.last_id
  WHERE d.status = 'deferred' AND d.due_at <= :now)
"""
)

# A task that died after its last outcome but before closing its batch leaves it
# "running" with no row being sent: give it back, pending if rows remain.
_STALE = """
UPDATE batches SET state = '{state}', touched_at = :now
WHERE state = 'running' AND touched_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM deliveries d
                  WHERE d.send_id = batches.send_id
                    AND d.id BETWEEN batches.first_id AND batches.last_id
                    AND d.status = 'sending')
"""
_STALE_WITH_WORK = sql(
    _STALE.format(state="pending")  # nosec B608 - the module's SQL constants; values bound
    + """
  AND EXISTS (SELECT 1 FROM deliveries d
              WHERE d.send_id = batches.send_id
                AND d.id BETWEEN batches.first_id AND batches.last_id
                AND (d.status = 'queued' OR (d.status = 'deferred' AND d.due_at <= :now)))
"""
)
_STALE_WITHOUT_WORK = sql(_STALE.format(state="done"))


#: Asked for each due send: why it may not start at ``now`` (None: it may start).
StartGate = Callable[[Session, Send, dt.datetime], str | None]


def reconcile(
    session: Session,
    policy: SendingSettings,
    now: dt.datetime,
    may_start: StartGate | None = None,
) -> ReconcileReport:
    """Run every recovery and dispatch step once; the caller commits, then enqueues.

    :param may_start: asked for each due send; a send it refuses stays scheduled, with
        the reason it gives shown as the send's ``state_reason`` (an approval that no
        longer holds, a calendar block, a holiday, the sending hours)
    """
    report = ReconcileReport()
    for send_id in ledger.due_sends(session, now):
        if may_start is not None and not _allowed(session, send_id, may_start, now):
            continue
        if ledger.start_send(session, send_id, now, policy.batch_size) is not None:
            report.started.append(send_id)
    _take_back_expired(session, policy, now, report)
    session.execute(_REOPEN_DUE, {"now": now})
    _settle_stale(session, policy, now)
    _redispatch_lost(session, policy, now)
    # Rows taken back from a dead worker of a cancelled send came back queued: skip them.
    control.sweep_cancelled(session, now)
    for send_id in _running_sends(session):
        report.enqueue += take_pending(session, send_id, policy.dispatch_window, now)
        if progress.finish_if_done(session, send_id, now):
            report.finished.append(send_id)
    return report


def _allowed(session: Session, send_id: int, may_start: StartGate, now: dt.datetime) -> bool:
    send = session.get_one(Send, send_id)
    held = may_start(session, send, now)
    if held is None:
        return True
    send.state_reason = held
    return False


def take_pending(session: Session, send_id: int, window: int, now: dt.datetime) -> list[int]:
    """Mark up to ``window`` minus the open batches of a send as enqueued.

    :returns: the batch ids the caller must enqueue once this transaction commits
    """
    send = session.get(Send, send_id)
    if send is None or send.state != SendState.RUNNING.value:
        return []
    if send.hold_until is not None and _aware(send.hold_until) > now:
        return []
    in_flight = session.scalar(
        select(func.count())
        .select_from(Batch)
        .where(Batch.send_id == send_id, Batch.state.in_(("enqueued", "running")))
    )
    room = window - int(in_flight or 0)
    if room <= 0:
        return []
    ids = list(
        session.scalars(
            select(Batch.id)
            .where(Batch.send_id == send_id, Batch.state == BatchState.PENDING.value)
            .order_by(Batch.id)
            .limit(room)
        )
    )
    if ids:
        session.execute(
            update(Batch)
            .where(Batch.id.in_(ids), Batch.state == BatchState.PENDING.value)
            .values(state=BatchState.ENQUEUED.value, touched_at=now)
        )
    return ids


def _take_back_expired(
    session: Session, policy: SendingSettings, now: dt.datetime, report: ReconcileReport
) -> None:
    """Rows of claims whose lease ran out, as if each owner had died with its journal.

    A dead process's successor on its machine folds its journal and takes its claim
    back within seconds (:mod:`dispatcher.sends.recovery`); a lease that runs out
    instead belongs to a machine that is gone, journal and all. Up to
    ``FOLD_EVERY`` of its outcomes were journalled but never folded, so as many
    of its first rows may have gone: all of them are marked, none silently resent.
    """
    owners = session.execute(_EXPIRED_OWNERS, {"now": now}).scalars().all()
    for owner in owners:
        requeued = take_back_owner(session, owner, policy, now, FOLD_EVERY, LOST_JOURNAL_REPLY)
        report.uncertain += 1
        report.requeued += requeued


def take_back_owner(
    session: Session,
    owner: str,
    policy: SendingSettings,
    now: dt.datetime,
    in_doubt: int = 1,
    reason: str = IN_FLIGHT_REPLY,
) -> int:
    """Take back a dead claim's rows, once every outcome it had is in the ledger.

    Outcomes are recorded in id order, each before the next message is finished,
    so the lowest row still "sending" is the only one that may have reached the
    relay: it becomes uncertain (or is retried, if the policy says resend). The
    others never went and are queued again.

    :param in_doubt: how many of the first rows still "sending" may have gone (more
        than one when the claim's last outcomes are lost)
    :returns: how many rows were queued again
    """
    first = session.execute(_FIRST_OF_OWNER, {"owner": owner, "count": in_doubt}).all()
    if not first:
        return 0
    send_id, last_id = first[0][1], first[-1][0]
    resend = policy.uncertain_policy == "resend"
    session.execute(
        _MARK_IN_FLIGHT,
        {
            "status": "deferred" if resend else "uncertain",
            "due": now if resend else None,
            "reply": reason,
            "now": now,
            "owner": owner,
            "last_id": last_id,
        },
    )
    requeued = int(session.execute(_REQUEUE_OWNER, {"owner": owner}).rowcount)  # type: ignore[attr-defined]
    progress.reopen_batches_of(session, [(send_id, first[0][0])], now)
    return requeued


def _settle_stale(session: Session, policy: SendingSettings, now: dt.datetime) -> None:
    cutoff = now - dt.timedelta(seconds=policy.lease_seconds)
    session.execute(_STALE_WITH_WORK, {"now": now, "cutoff": cutoff})
    session.execute(_STALE_WITHOUT_WORK, {"now": now, "cutoff": cutoff})


def _redispatch_lost(session: Session, policy: SendingSettings, now: dt.datetime) -> None:
    """Batches enqueued long ago and never claimed: the broker lost them (or never had them)."""
    cutoff = now - dt.timedelta(seconds=policy.redispatch_after)
    session.execute(
        update(Batch)
        .where(Batch.state == BatchState.ENQUEUED.value, Batch.touched_at < cutoff)
        .values(state=BatchState.PENDING.value, touched_at=now)
    )


def _running_sends(session: Session) -> list[int]:
    return list(session.scalars(select(Send.id).where(Send.state == SendState.RUNNING.value)))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
