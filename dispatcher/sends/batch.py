"""Delivering one batch: claim, fill, send, record each outcome, close the batch.

This is the plain function behind the ``deliver_batch`` task. The claim, the
closing of the batch and the topping-up of the send's window are short
transactions; each outcome is journalled before the transport may finish the
next message, and folded into the ledger a hundred at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dispatcher.errors import MessageError, RelayUnavailableError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.message.personalise import Personaliser
from dispatcher.message.template import format_date
from dispatcher.models import DeliveryStatus, SendState
from dispatcher.sends import autopause, claims, control, progress, reconcile
from dispatcher.sends.activity import ACTIVITY
from dispatcher.sends.claims import Claim, ClaimedRow
from dispatcher.sends.journal import Journal
from dispatcher.sends.outcomes import (
    ClaimLostError,
    LedgerWriter,
    RowUpdate,
    decide,
    written_only,
)
from dispatcher.sends.ratelimit import Pacer, RateLimited, RateLimiter
from dispatcher.sends.runtime import Runtime
from dispatcher.transport.base import Transport
from dispatcher.transport.outbox import counts_as_delivery

log = logging.getLogger(__name__)

STATE_CHECK_EVERY = 100  # messages between two looks at the send's state (pause, cancel)
STATE_CHECK_SECONDS = 2.0  # ... or this many seconds, whichever comes first
COUNTS_REFRESH_SECONDS = 1.0  # the running batch's counts, for the console
_SEND_STATE = "SELECT state FROM sends WHERE id = :id"


@dataclass
class BatchReport:
    """What one run of a batch did."""

    batch_id: int
    claimed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    relay_down: str | None = None
    limited_for: float | None = None  # the global budget is spent for this many seconds
    stopped: str | None = None  # why the batch stopped early (pause, cancel, claim lost)


def new_owner() -> str:
    """A claim owner: which machine and process, and a nonce for this run."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def run_batch(runtime: Runtime, batch_id: int, enqueue: Callable[[int], None]) -> BatchReport:
    """Deliver what batch ``batch_id`` has to deliver now; enqueue follow-up batches.

    The claim's journal exists before the claim does and goes once the batch is
    closed; if anything fails in between, it is left to the recovery, which folds
    it and takes the claim back.

    :param enqueue: hands a batch id to the broker (called only after commits)
    """
    transport = runtime.transport  # a configuration error surfaces before anything is claimed
    runtime.recover_orphans()  # dead processes of this machine first: their rows wait
    journal = runtime.open_journal(new_owner())
    try:
        report = _claim_and_deliver(runtime, transport, journal, batch_id, enqueue)
    except BaseException:
        _abandon(runtime, journal)
        raise
    journal.discard()
    return report


def _claim_and_deliver(
    runtime: Runtime,
    transport: Transport,
    journal: Journal,
    batch_id: int,
    enqueue: Callable[[int], None],
) -> BatchReport:
    lease = dt.timedelta(seconds=runtime.settings.sending.lease_seconds)
    report = BatchReport(batch_id)
    with runtime.sessions.begin() as session:
        claim = claims.claim_batch(session, batch_id, journal.owner, runtime.clock(), lease)
        personaliser = (
            runtime.personaliser(session, claim.send_id) if claim and claim.rows else None
        )
        if personaliser is not None and claim is not None:
            transport = runtime.transport_for(session, claim.send_id)  # a dry run's outbox
    if claim is None:
        # Hook (control): the send is paused or held back; the batch waits as pending.
        with runtime.sessions.begin() as session:
            control.give_back_batch(session, batch_id, runtime.clock())
        return report
    report.claimed = len(claim.rows)
    ACTIVITY.begin_batch(batch_id, claim.send_id, len(claim.rows))  # hook: heartbeats
    try:
        if personaliser is not None:
            writer = LedgerWriter(
                runtime.ledger_sink, journal, runtime.settings.sending, runtime.clock
            )
            _deliver(runtime, transport, claim, personaliser, writer, report)
    finally:
        ACTIVITY.end_batch()
    _close_batch(runtime, claim, report, enqueue)
    return report


def _deliver(
    runtime: Runtime,
    transport: Transport,
    claim: Claim,
    personaliser: Personaliser,
    writer: LedgerWriter,
    report: BatchReport,
) -> None:
    """Send the claimed rows over the process's transport, recording each outcome."""
    policy = runtime.settings.sending
    rows = {row.recipient.delivery_id: row for row in claim.rows}
    message_ids: dict[int, str] = {}
    delivers = counts_as_delivery(transport)  # an outbox may reach nobody (a dry run)
    messages = _messages(claim, personaliser, writer, message_ids, report, runtime, delivers)
    # Each outcome is journalled before the consumer asks for the next one, so before
    # the transport may finish the next message; before_dot keeps the lease alive.
    outcomes = transport.deliver(messages, before_dot=writer.before_dot)
    checker = _StateChecker(runtime, claim.send_id, claim.batch_id)
    failures = autopause.FailureWindow(autopause.policy_of(policy))  # hook: auto-pause
    try:
        for outcome in outcomes:
            now, row = runtime.clock(), rows[outcome.delivery_id]
            update = decide(outcome, row, now, policy)
            update = update if delivers else written_only(update)
            writer.record(update, message_ids.pop(outcome.delivery_id, None), now)
            report.statuses[update.status.value] += 1
            ACTIVITY.outcome()
            attempt = row.attempts + 1
            if (
                stop := _stop_reason(runtime, claim, checker, failures, update, attempt)
            ) is not None:
                report.stopped = stop
                break
        writer.flush()
    except RelayUnavailableError as exc:
        writer.flush()
        report.relay_down = str(exc)
        log.warning("relay unavailable, send %s held back: %s", claim.send_id, exc)
    except ClaimLostError as exc:
        report.stopped = str(exc)
        log.error("batch %s stopped: %s", claim.batch_id, exc)
    except RateLimited as exc:
        writer.flush()
        report.limited_for = exc.wait
        log.info("send %s: %s", claim.send_id, exc)
    except BaseException:
        runtime.drop_ledger_sink()  # its connection may be broken: the next batch opens another
        raise
    finally:
        outcomes.close()  # the transport finishes no further message


def _messages(
    claim: Claim,
    personaliser: Personaliser,
    writer: LedgerWriter,
    message_ids: dict[int, str],
    report: BatchReport,
    runtime: Runtime,
    paced: bool,
) -> Iterator[OutgoingMessage]:
    """Fill each row's message as the transport asks for it, within the sending limits.

    Unbuildable rows fail here; rows whose recipient domain is over its limit are put
    off (no worker sleeps on them); the global limit paces the whole batch.
    """
    date = format_date(time.time())
    # Files written to a dry run's folder take nothing of the relay's sending budget.
    limiter = runtime.rate_limiter if paced else None
    pacer = Pacer(limiter) if limiter is not None else None
    for row in claim.rows:
        if limiter is not None and _put_off(limiter, row.recipient.email, row, writer, runtime):
            report.statuses[DeliveryStatus.DEFERRED.value] += 1
            continue
        try:
            message = personaliser.message(row.recipient, date)
        except MessageError as exc:
            writer.fail_unbuilt(row.recipient.delivery_id, f"not sent: {exc}", runtime.clock())
            report.statuses[DeliveryStatus.FAILED.value] += 1
            continue
        if pacer is not None:
            pacer.take()
        message_ids[message.delivery_id] = message.message_id
        yield message


def _put_off(
    limiter: RateLimiter, email: str, row: ClaimedRow, writer: LedgerWriter, runtime: Runtime
) -> bool:
    domain = email.rpartition("@")[2]
    wait = limiter.domain_wait(domain)
    if not wait:
        return False
    due = runtime.clock() + dt.timedelta(seconds=wait)
    writer.wait_for_limit(row.recipient.delivery_id, due, f"waiting: sending limit for {domain}")
    return True


def _stop_reason(
    runtime: Runtime,
    claim: Claim,
    checker: _StateChecker,
    failures: autopause.FailureWindow,
    update: RowUpdate,
    attempt: int,
) -> str | None:
    """Hook (control): stop when too many of the last outcomes failed (pausing the send),
    or when someone paused or cancelled it. ``attempt`` is the row's (1 for the first)."""
    reason = failures.add(update.status.value, update.code, attempt)
    if reason is None:
        return checker.stop_reason()
    with runtime.sessions.begin() as session:
        control.auto_pause(session, claim.send_id, reason)
    log.warning("send %s: %s", claim.send_id, reason)
    return reason


class _StateChecker:
    """Looks at the send's state every so many messages or seconds.

    It also refreshes the batch's counts (the console reads them) at most once a
    second: a GROUP BY over the batch's rows is cheap, but not per 100 messages.
    """

    def __init__(self, runtime: Runtime, send_id: int, batch_id: int) -> None:
        self._runtime = runtime
        self._send_id = send_id
        self._batch_id = batch_id
        self._count = 0
        self._last = self._counted = time.monotonic()

    def stop_reason(self) -> str | None:
        self._count += 1
        if self._count % STATE_CHECK_EVERY and time.monotonic() - self._last < STATE_CHECK_SECONDS:
            return None
        self._last = time.monotonic()
        # On the outcome connection: one round trip, where a session took four.
        state = self._runtime.ledger_sink.value(_SEND_STATE, {"id": self._send_id})
        if self._last - self._counted >= COUNTS_REFRESH_SECONDS:
            with self._runtime.sessions.begin() as session:
                progress.refresh_batch(session, self._batch_id)
            self._counted = self._last
        return None if state == SendState.RUNNING.value else f"send is {state}"


def _close_batch(
    runtime: Runtime, claim: Claim, report: BatchReport, enqueue: Callable[[int], None]
) -> None:
    """Give back unsent rows, update counts and state, top up the send's window."""
    policy = runtime.settings.sending
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        released = claims.release(session, claim.owner)
        # Hook (control): rows given back to a send cancelled meanwhile are skipped.
        cancelled = control.settle_if_cancelled(session, claim.send_id, now)
        if report.relay_down is not None:
            claims.hold_send(
                session, claim.send_id, now, policy.relay_backoff_base, policy.relay_backoff_max
            )
        elif report.limited_for is not None:
            claims.hold_for(session, claim.send_id, now, report.limited_for)
        elif report.statuses[DeliveryStatus.SENT.value]:
            claims.clear_hold(session, claim.send_id)
        progress.refresh_batch(session, claim.batch_id)
        reopen = released > 0 and not cancelled
        progress.close_batch(session, claim.batch_id, reopen=reopen, now=now)
        follow_up = reconcile.take_pending(session, claim.send_id, policy.dispatch_window, now)
        progress.finish_if_done(session, claim.send_id, now)
    for batch_id in follow_up:
        enqueue(batch_id)


def _abandon(runtime: Runtime, journal: Journal) -> None:
    """After an unexpected error: leave the journal to the recovery, and run it now.

    The journal is the truth about what this claim sent (a fold that failed may or
    may not have committed), so the rows are taken back from it, as for a dead
    process. If the database is unreachable, the next recovery on this machine
    (the next batch, the reconciler) does it.
    """
    journal.close()
    try:
        runtime.recover_orphans()
    except Exception:  # noqa: BLE001 - the original error is the one worth raising
        log.exception("could not take back the rows of %s yet; recovery will", journal.owner)
