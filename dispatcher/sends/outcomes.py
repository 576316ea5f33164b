"""Turning what the relay answered into ledger rows, one durable write per message.

Each outcome is committed before the transport may finish the next message, so
a worker that dies leaves at most the message in flight in doubt (design
decision 3). The decision itself (:func:`decide`) is pure; :class:`LedgerWriter`
does the writing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from dispatcher.config import SendingSettings
from dispatcher.models import DeliveryStatus
from dispatcher.sends.claims import ClaimedRow
from dispatcher.sends.ledger_sink import LedgerSink
from dispatcher.transport.base import Outcome, OutcomeKind

MAX_REPLY_CHARS = 2000


class ClaimLostError(Exception):
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


# A row has an owner only while it is being sent: the claim sets both, and every
# statement that ends a row's sending clears the owner. So "still ours" is
# ``owner = :owner``, and the statements below say no more: with ``status = 'sending'``
# as well, the generic plan of the prepared statement matched the partial index of
# active rows and walked every row being sent (0.3 ms a message) instead of the key.
_RECORD = """
UPDATE deliveries
SET status = :status, smtp_code = :code, smtp_reply = :reply, message_id = :message_id,
    attempts = attempts + 1, last_attempt_at = :now,
    first_attempt_at = COALESCE(first_attempt_at, :now),
    owner = NULL, due_at = :due, in_doubt = (in_doubt OR :in_doubt)
WHERE id = :id AND owner = :owner
"""

_FAIL_UNBUILT = """
UPDATE deliveries SET status = 'failed', smtp_reply = :reply, owner = NULL, due_at = NULL,
       last_attempt_at = :now
WHERE id = :id AND owner = :owner
"""

_WAIT_FOR_LIMIT = """
UPDATE deliveries SET status = 'deferred', due_at = :due, smtp_reply = :reply, owner = NULL
WHERE id = :id AND owner = :owner
"""

_RENEW = "UPDATE deliveries SET due_at = :lease WHERE owner = :owner AND status = 'sending'"


class LedgerWriter:
    """Records a claim's outcomes, each committed on its own before the next message ends.

    It also renews the claim's lease while the batch runs, so a slow relay does
    not make a live task look dead.
    """

    def __init__(self, sink: LedgerSink, owner: str, policy: SendingSettings) -> None:
        self._sink = sink
        self._owner = owner
        self._policy = policy
        self._renewed = time.monotonic()
        self._pending: int | None = None
        self._maybe_renew_later: dt.datetime | None = None

    def start_record(self, update: RowUpdate, message_id: str | None, now: dt.datetime) -> None:
        """Send one row's new state without waiting; :meth:`settle` waits for it.

        The transport calls :meth:`settle` right before it finishes the next message,
        so the database's round trip overlaps with preparing that message.
        """
        self.settle()  # one statement at a time on the connection (a refusal known early
        # comes without a final dot, so without a settle from the transport in between)
        self._sink.send(_RECORD, self._record_params(update, message_id, now))
        self._pending = update.delivery_id
        self._maybe_renew_later = now

    def settle(self) -> None:
        """Wait until the record started last is durable.

        :raises ClaimLostError: if that row was no longer ours
        """
        if self._pending is None:
            return
        delivery_id, self._pending = self._pending, None
        if self._sink.finish() != 1:
            raise ClaimLostError(f"delivery {delivery_id} is no longer owned by {self._owner}")
        if self._maybe_renew_later is not None:
            self._maybe_renew(self._maybe_renew_later)
            self._maybe_renew_later = None

    def _record_params(
        self, update: RowUpdate, message_id: str | None, now: dt.datetime
    ) -> dict[str, object]:
        return {
            "status": update.status.value,
            "code": update.code,
            "reply": update.reply,
            "message_id": message_id,
            "now": now,
            "due": update.due_at,
            "in_doubt": update.in_doubt,
            "id": update.delivery_id,
            "owner": self._owner,
        }

    def fail_unbuilt(self, delivery_id: int, reason: str, now: dt.datetime) -> None:
        """Mark a row failed whose message could not be built (e.g. an invalid address)."""
        params = {"reply": reason[:MAX_REPLY_CHARS], "now": now, "id": delivery_id}
        self._write(_FAIL_UNBUILT, params | {"owner": self._owner})

    def wait_for_limit(self, delivery_id: int, due: dt.datetime, reason: str) -> None:
        """Put a row off until ``due`` because of a sending limit (no attempt is spent)."""
        params = {"due": due, "reply": reason, "id": delivery_id, "owner": self._owner}
        self._write(_WAIT_FOR_LIMIT, params)

    def _write(self, statement: str, params: Mapping[str, object]) -> None:
        self.settle()  # one statement at a time on the connection
        if self._sink.execute(statement, params) != 1:
            raise ClaimLostError(f"delivery {params['id']} is no longer owned by {self._owner}")

    def _maybe_renew(self, now: dt.datetime) -> None:
        if time.monotonic() - self._renewed < self._policy.lease_seconds / 4:
            return
        lease = now + dt.timedelta(seconds=self._policy.lease_seconds)
        self._sink.execute(_RENEW, {"lease": lease, "owner": self._owner})
        self._renewed = time.monotonic()


def open_sink(engine: Engine, policy: SendingSettings) -> LedgerSink:
    """The fastest durable way to write outcomes on this database."""
    from dispatcher.sends.ledger_sink import PsycopgSink, SqlAlchemySink

    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return PsycopgSink(engine, synchronous_commit=policy.ledger_synchronous_commit)
    return SqlAlchemySink(engine)
