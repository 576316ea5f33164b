"""Turning what the relay answered into ledger rows.

Each outcome is durable (in the process's journal) before the transport may
finish the next message, so a worker that dies leaves at most the message in
flight in doubt (design decision 3). The decision itself (:func:`decide`) is
pure; :class:`LedgerWriter` does the writing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from dispatcher.config import SendingSettings
from dispatcher.errors import StateError
from dispatcher.models import DeliveryStatus
from dispatcher.sends import fold
from dispatcher.sends.claims import ClaimedRow
from dispatcher.sends.journal import FOLD_EVERY, Entry, Journal, utc_text
from dispatcher.sends.ledger_sink import LedgerSink
from dispatcher.transport.base import Outcome, OutcomeKind

MAX_REPLY_CHARS = 2000
#: Seconds an outcome may wait in the journal before it is folded, so that the
#: console's counts keep up with a slow relay too.
FOLD_SECONDS = 1.0


class ClaimLostError(StateError):
    """The row is no longer ours: the lease expired and the reconciler took it back."""


@dataclass(frozen=True, slots=True)
class RowUpdate:
    """The new state of one ledger row after an attempt."""

    delivery_id: int
    status: DeliveryStatus
    code: int | None
    reply: str
    due_at: dt.datetime | None
    in_doubt: bool


def decide(
    outcome: Outcome, row: ClaimedRow, now: dt.datetime, policy: SendingSettings
) -> RowUpdate:
    """What an outcome makes of a row: sent, failed, deferred with backoff, or uncertain."""
    reply = outcome.reply[:MAX_REPLY_CHARS]
    code = outcome.code or None
    if outcome.kind is OutcomeKind.DELIVERED:
        return RowUpdate(outcome.delivery_id, DeliveryStatus.SENT, code, reply, None, False)
    if outcome.kind is OutcomeKind.PERMANENT:
        return RowUpdate(outcome.delivery_id, DeliveryStatus.FAILED, code, reply, None, False)
    if outcome.kind is OutcomeKind.UNCERTAIN and policy.uncertain_policy == "keep":
        return RowUpdate(outcome.delivery_id, DeliveryStatus.UNCERTAIN, code, reply, None, True)
    return _retry(outcome, row, now, policy, reply, code)


def _retry(
    outcome: Outcome,
    row: ClaimedRow,
    now: dt.datetime,
    policy: SendingSettings,
    reply: str,
    code: int | None,
) -> RowUpdate:
    doubt = outcome.kind is OutcomeKind.UNCERTAIN
    backoff = min(policy.retry_max_interval, policy.retry_base * 2**row.attempts)
    due = now + dt.timedelta(seconds=backoff)
    first = row.first_attempt_at or now
    if due > first + dt.timedelta(seconds=policy.retry_window):
        expired = f"expired after {row.attempts + 1} attempts; last reply: {reply}"
        return RowUpdate(
            outcome.delivery_id, DeliveryStatus.FAILED, code, expired[:MAX_REPLY_CHARS], None, doubt
        )
    return RowUpdate(outcome.delivery_id, DeliveryStatus.DEFERRED, code, reply, due, doubt)


#: A message written to an outbox that is not the production transport reached nobody.
WRITTEN_ONLY_REPLY = "not delivered: written to an outbox, OUTBOX_IS_DELIVERY is off ({reply})"


def written_only(update: RowUpdate) -> RowUpdate:
    """What a message the outbox took is for the ledger when no person gets it: ``skipped``
    (so it is not "received", and a real send later reaches the person)."""
    if update.status is not DeliveryStatus.SENT:
        return update
    reply = WRITTEN_ONLY_REPLY.format(reply=update.reply)[:MAX_REPLY_CHARS]
    return replace(update, status=DeliveryStatus.SKIPPED, reply=reply)


_RENEW = "UPDATE deliveries SET due_at = :lease WHERE owner = :owner AND status = 'sending'"


class LedgerWriter:
    """Records a claim's outcomes: each in the journal at once, in the ledger by the hundred.

    An outcome is in the journal before the transport may finish the next message
    (so a worker that dies leaves at most the message in flight in doubt), and in
    the ledger after at most :data:`~dispatcher.sends.journal.FOLD_EVERY` more
    outcomes or :data:`FOLD_SECONDS`, whichever comes first, and when the batch ends.

    It also renews the claim's lease while the batch runs, and will not let the
    transport finish a message on a lease that may have run out.
    """

    def __init__(
        self,
        sink: LedgerSink,
        journal: Journal,
        policy: SendingSettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._sink = sink
        self._journal = journal
        self._owner = journal.owner
        self._policy = policy
        self._clock = clock
        self._fold = fold.statement(sink.dialect)
        self._lines: list[str] = []
        self._folded = self._renewed = time.monotonic()

    def record(self, update: RowUpdate, message_id: str | None, now: dt.datetime) -> None:
        """Journal one attempt's outcome."""
        due = utc_text(update.due_at) if update.due_at is not None else None
        entry = Entry(
            update.delivery_id, update.status.value, update.code, update.reply, message_id,
            due, update.in_doubt, utc_text(now), True,
        )  # fmt: skip
        self._add(entry)

    def fail_unbuilt(self, delivery_id: int, reason: str, now: dt.datetime) -> None:
        """Mark a row failed whose message could not be built (e.g. an invalid address)."""
        reply = reason[:MAX_REPLY_CHARS]
        self._add(
            Entry(delivery_id, "failed", None, reply, None, None, False, utc_text(now), False)
        )

    def wait_for_limit(self, delivery_id: int, due: dt.datetime, reason: str) -> None:
        """Put a row off until ``due`` because of a sending limit (no attempt is spent)."""
        self._add(
            Entry(delivery_id, "deferred", None, reason, None, utc_text(due), False, None, False)
        )

    def before_dot(self) -> None:
        """Called by the transport before each final dot: renew a lease that is half spent.

        :raises ClaimLostError: if the rows are no longer ours
        """
        if time.monotonic() - self._renewed >= self._policy.lease_seconds / 2:
            self.flush()
            self._renew()

    def flush(self) -> None:
        """Fold every journalled outcome into the ledger (one committed statement).

        :raises ClaimLostError: if some of those rows were no longer ours
        """
        self._folded = time.monotonic()
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        changed = self._sink.execute(self._fold, fold.params(lines, self._owner))
        if changed != len(lines):
            raise ClaimLostError(
                f"{len(lines) - changed} of {len(lines)} rows are no longer owned by {self._owner}"
            )
        if time.monotonic() - self._renewed >= self._policy.lease_seconds / 4:
            self._renew()

    def _add(self, entry: Entry) -> None:
        self._lines.append(self._journal.append(entry))
        if len(self._lines) >= FOLD_EVERY or time.monotonic() - self._folded >= FOLD_SECONDS:
            self.flush()

    def _renew(self) -> None:
        lease = self._clock() + dt.timedelta(seconds=self._policy.lease_seconds)
        self._sink.execute(_RENEW, {"lease": lease, "owner": self._owner})
        self._renewed = time.monotonic()


def open_sink(engine: Engine, policy: SendingSettings) -> LedgerSink:
    """The fastest durable way to write outcomes on this database."""
    from dispatcher.sends.ledger_sink import PsycopgSink, SqlAlchemySink

    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return PsycopgSink(engine, synchronous_commit=policy.ledger_synchronous_commit)
    return SqlAlchemySink(engine)
