"""Controlling a send once it exists: pause, resume, cancel, retry, late and correction sends.

Every state change is a conditional UPDATE (``... WHERE state IN (...)``), so two
operators, or an operator and the beat, cannot both win: the loser gets a
:class:`StateError` naming the state the send is really in. Workers look at
the send's state before each group of messages (``sends.batch._StateChecker``), so
a pause or cancel takes effect within about 100 messages or 2 seconds; rows
being sent at that moment finish and are recorded.

Services take a session and never commit. Resuming or retrying leaves batches
pending: the reconciler dispatches them at its next tick, or a caller that can
reach the broker takes them at once with :func:`reconcile.take_pending` and
enqueues them after its transaction commits (as ``dispatcher send resume`` does).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import Batch, Edition, Send, SendState
from dispatcher.sends import audience, ledger, progress
from dispatcher.sends.audience import KIND_CORRECTION, KIND_LATE
from dispatcher.sends.sql import sql

CANCELLED_REPLY = "not sent: the send was cancelled"

_RUNNING, _PAUSED = SendState.RUNNING.value, SendState.PAUSED.value
_SCHEDULED, _FINISHED = SendState.SCHEDULED.value, SendState.FINISHED.value
_CANCELLED = SendState.CANCELLED.value


@dataclass(frozen=True)
class ControlResult:
    """What a control did: the send's state now, and how many rows it changed."""

    send_id: int
    state: str
    rows: int = 0


# -- pause, resume, cancel ---------------------------------------------------------------------


def pause_send(session: Session, send_id: int, reason: str, now: dt.datetime) -> ControlResult:
    """Pause a running send; workers stop at their next look at its state.

    :raises NotFoundError: if there is no such send
    :raises StateError: if the send is not running
    """
    _transition(session, send_id, (_RUNNING,), _PAUSED, "paused", state_reason=reason or "paused")
    return ControlResult(send_id, _PAUSED)


def auto_pause(session: Session, send_id: int, reason: str) -> bool:
    """Pause a send from a worker (the reason comes from :mod:`dispatcher.sends.autopause`).

    :returns: False if it was no longer running (no error)
    """
    result = session.execute(
        update(Send)
        .where(Send.id == send_id, Send.state == _RUNNING)
        .values(state=_PAUSED, state_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def resume_send(session: Session, send_id: int, now: dt.datetime) -> ControlResult:
    """Resume a paused send; its pending batches are dispatched again.

    :raises NotFoundError: if there is no such send
    :raises StateError: if the send is not paused
    """
    _transition(session, send_id, (_PAUSED,), _RUNNING, "resumed", state_reason="")
    return ControlResult(send_id, _RUNNING)


def cancel_send(session: Session, send_id: int, reason: str, now: dt.datetime) -> ControlResult:
    """Cancel a send: rows queued or deferred become ``skipped``; rows being sent finish.

    :raises NotFoundError: if there is no such send
    :raises StateError: if the send is already finished or cancelled
    """
    values = {"state_reason": reason or "cancelled", "finished_at": now}
    _transition(
        session, send_id, (_SCHEDULED, _RUNNING, _PAUSED), _CANCELLED, "cancelled", **values
    )
    return ControlResult(send_id, _CANCELLED, rows=skip_unsent(session, send_id, now))


def skip_unsent(session: Session, send_id: int, now: dt.datetime) -> int:
    """Skip a cancelled send's queued and deferred rows; :returns: how many"""
    return progress.skip_unsent(session, send_id, now, CANCELLED_REPLY)


def settle_if_cancelled(session: Session, send_id: int, now: dt.datetime) -> bool:
    """After a task gave rows back: if the send was cancelled meanwhile, skip them.

    :returns: whether the send is cancelled
    """
    if session.scalar(select(Send.state).where(Send.id == send_id)) != _CANCELLED:
        return False
    skip_unsent(session, send_id, now)
    return True


_GIVE_BACK = sql(
    """
UPDATE batches SET state = 'pending', touched_at = :now
WHERE id = :batch_id AND state = 'enqueued'
  AND EXISTS (SELECT 1 FROM sends s
              WHERE s.id = batches.send_id AND s.state IN ('running', 'paused'))
"""
)


def give_back_batch(session: Session, batch_id: int, now: dt.datetime) -> None:
    """A task found its send paused (or held back): its batch waits as pending, so that
    a resume dispatches it at once instead of after the reconciler's redispatch delay."""
    session.execute(_GIVE_BACK, {"batch_id": batch_id, "now": now})


_CANCELLED_WITH_ROWS = sql(
    """
SELECT s.id FROM sends s WHERE s.state = 'cancelled' AND EXISTS (
  SELECT 1 FROM deliveries d WHERE d.send_id = s.id AND d.status IN ('queued', 'deferred'))
"""
)


def sweep_cancelled(session: Session, now: dt.datetime) -> list[int]:
    """Skip rows that came back to a cancelled send (a dead worker's claim taken back).

    :returns: the ids of the sends swept
    """
    send_ids = list(session.execute(_CANCELLED_WITH_ROWS).scalars())
    for send_id in send_ids:
        skip_unsent(session, send_id, now)
    return send_ids


# -- retry ----------------------------------------------------------------------------------

_DUE_NOW = sql(
    """
UPDATE deliveries SET due_at = :now
WHERE send_id = :send_id AND status = 'deferred' AND due_at > :now
"""
)

# Rows whose 4xx retries ran out of time get one more attempt each time an operator
# asks: first_attempt_at is kept, so another 4xx fails them again at once. Rows in
# doubt (no reply after the final dot at some attempt) follow UNCERTAIN_POLICY: with
# "keep" they are left alone, as the person may have the message already.
_EXPIRED_AGAIN = sql(
    """
UPDATE deliveries SET status = 'deferred', due_at = :now
WHERE send_id = :send_id AND status = 'failed' AND smtp_reply LIKE 'expired after %'
  AND (:in_doubt OR NOT in_doubt)
"""
)

_REOPEN_DUE_OF_SEND = sql(
    """
UPDATE batches SET state = 'pending', touched_at = :now, finished_at = NULL
WHERE send_id = :send_id AND state = 'done' AND EXISTS (
  SELECT 1 FROM deliveries d
  WHERE d.send_id = batches.send_id AND d.id BETWEEN batches.first_id AND batches.last_id
    AND d.status = 'deferred' AND d.due_at <= :now)
"""
)


def retry_send(
    session: Session, send_id: int, now: dt.datetime, *, in_doubt: bool = False
) -> ControlResult:
    """Retry at once what failed temporarily: deferred rows, and rows whose retries expired.

    A finished send runs again until those rows settle; a paused send keeps them
    for when it is resumed.

    :param in_doubt: also retry expired rows that may have arrived once (pass
        ``UNCERTAIN_POLICY == "resend"``)

    :returns: the result, whose ``rows`` counts the rows made due now
    :raises NotFoundError: if there is no such send
    :raises StateError: if the send is scheduled or cancelled
    """
    state = _state_of(session, send_id)
    if state not in (_RUNNING, _PAUSED, _FINISHED):
        raise StateError(f"send {send_id} is {state}: only a started send has rows to retry").coded(
            "send.not_started", send=send_id
        )
    params = {"send_id": send_id, "now": now}
    rows = int(session.execute(_DUE_NOW, params).rowcount)  # type: ignore[attr-defined]
    again = session.execute(_EXPIRED_AGAIN, params | {"in_doubt": in_doubt})
    rows += int(again.rowcount)  # type: ignore[attr-defined]
    if rows == 0:
        return ControlResult(send_id, state)
    if state == _FINISHED:
        _transition(session, send_id, (_FINISHED,), _RUNNING, "retried", finished_at=None)
        state = _RUNNING
    session.execute(_REOPEN_DUE_OF_SEND, params)
    _recount_unsettled(session, send_id)
    return ControlResult(send_id, state, rows)


_TO_RETRY = sql(
    """
SELECT COUNT(*) FROM deliveries
WHERE send_id = :send_id AND (status = 'deferred' OR (
  status = 'failed' AND smtp_reply LIKE 'expired after %' AND (:in_doubt OR NOT in_doubt)))
"""
)


def retry_count(session: Session, send_id: int, *, in_doubt: bool = False) -> int:
    """How many messages :func:`retry_send` would try again now (deferred and expired)."""
    return int(session.scalar(_TO_RETRY, {"send_id": send_id, "in_doubt": in_doubt}) or 0)


def _recount_unsettled(session: Session, send_id: int) -> None:
    """Recount the batches holding failed or deferred rows (a few, each a bounded count)."""
    batch_ids = session.scalars(
        select(Batch.id).where(
            Batch.send_id == send_id, (Batch.n_failed > 0) | (Batch.n_deferred > 0)
        )
    )
    for batch_id in list(batch_ids):
        progress.refresh_batch(session, batch_id)


# -- late and correction sends ----------------------------------------------------------------


def create_late_send(
    session: Session, send_id: int, when: dt.datetime, created_by: str = ""
) -> Send:
    """A send of the same edition to the same lists, for people with no row of it yet.

    Its ledger is written when it starts, like any send: confirmed subscribers
    of the lists who have no delivery of this edition in any status (someone
    who failed or was skipped the first time is not a newcomer).

    :raises NotFoundError: if there is no such send
    :raises StateError: if the send has not started or was cancelled
    """
    parent = _started_send(session, send_id, (_RUNNING, _PAUSED, _FINISHED), "a late send")
    return _child_send(session, parent, parent.edition_id, KIND_LATE, when, created_by)


def create_correction(
    session: Session, send_id: int, edition_id: int, when: dt.datetime, created_by: str = ""
) -> Send:
    """A send of another edition to everyone who received the original's edition.

    Its ledger is written when it starts (:mod:`dispatcher.sends.audience`): the
    people who received the corrected edition through any of its sends (this one,
    late sends, sends again, to other lists), by the rows' statuses, not from
    subscriptions; people who unsubscribed or were suppressed since are skipped.
    The original may still be going: its rows not sent yet are then superseded, and
    those people get the correction instead.

    :raises NotFoundError: if the send or the edition does not exist
    :raises StateError: if the original has not started, or the edition is the same
        one or belongs to another newsletter
    """
    started = (_RUNNING, _PAUSED, _FINISHED, _CANCELLED)
    parent = _started_send(session, send_id, started, "a correction")
    edition = session.get(Edition, edition_id)
    if edition is None:
        raise NotFoundError(f"no edition with id {edition_id}")
    original = session.get_one(Edition, parent.edition_id)
    if edition.id == original.id or edition.list_id != original.list_id:
        raise StateError(
            f"edition {edition_id} cannot correct send {send_id}: a correction is another "
            "edition of the same newsletter"
        ).coded("send.bad_correction", edition=edition_id, send=send_id)
    return _child_send(session, parent, edition_id, KIND_CORRECTION, when, created_by)


def _started_send(session: Session, send_id: int, allowed: tuple[str, ...], what: str) -> Send:
    parent = session.get(Send, send_id)
    if parent is None:
        raise NotFoundError(f"no send with id {send_id}")
    if parent.state not in allowed or parent.started_at is None:
        raise StateError(
            f"send {send_id} is {parent.state}: {what} follows a send that is "
            f"{' or '.join(allowed)}"
        ).coded("send.not_started", send=send_id)
    return parent


def _child_send(
    session: Session, parent: Send, edition_id: int, kind: str, when: dt.datetime, by: str
) -> Send:
    # A correction reaches the recipients of every send of the original's edition, and
    # skips those no longer on any of those sends' lists.
    sends = audience.sends_carrying(session, parent.edition_id) if kind == KIND_CORRECTION else []
    by_send = ledger.list_slugs(session, sends or [parent.id])
    lists = sorted({slug for slugs in by_send.values() for slug in slugs})
    again = kind == KIND_LATE
    return ledger.create_send(
        session, edition_id, lists, when, again=again, kind=kind, parent=parent, created_by=by
    )


def _state_of(session: Session, send_id: int) -> str:
    state = session.scalar(select(Send.state).where(Send.id == send_id))
    if state is None:
        raise NotFoundError(f"no send with id {send_id}")
    return state


def _transition(
    session: Session,
    send_id: int,
    allowed: tuple[str, ...],
    target: str,
    verb: str,
    **values: object,
) -> None:
    result = session.execute(
        update(Send)
        .where(Send.id == send_id, Send.state.in_(allowed))
        .values(state=target, **values)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    state = session.scalar(select(Send.state).where(Send.id == send_id))
    if state is None:
        raise NotFoundError(f"no send with id {send_id}")
    refused = f"send {send_id} is {state}: only a {' or '.join(allowed)} send can be {verb}"
    raise StateError(refused).coded(f"send.not_{verb}", send=send_id)
