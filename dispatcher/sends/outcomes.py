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

from sqlalchemy import Connection, Engine, TextClause

from dispatcher.config import SendingSettings
from dispatcher.models import DeliveryStatus
from dispatcher.sends.claims import ClaimedRow
from dispatcher.sends.sql import sql
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


_RECORD = sql(
    """
UPDATE deliveries
SET status = :status, smtp_code = :code, smtp_reply = :reply, message_id = :message_id,
    attempts = attempts + 1, last_attempt_at = :now,
    first_attempt_at = COALESCE(first_attempt_at, :now),
    owner = NULL, due_at = :due, in_doubt = (in_doubt OR :in_doubt)
WHERE id = :id AND owner = :owner AND status = 'sending'
"""
)

_FAIL_UNBUILT = sql(
    """
UPDATE deliveries SET status = 'failed', smtp_reply = :reply, owner = NULL, due_at = NULL,
       last_attempt_at = :now
WHERE id = :id AND owner = :owner AND status = 'sending'
"""
)

_RENEW = sql("UPDATE deliveries SET due_at = :lease WHERE owner = :owner AND status = 'sending'")


class LedgerWriter:
    """Records a claim's outcomes, each in its own short transaction.

    It also renews the claim's lease while the batch runs, so a slow relay does
    not make a live task look dead.
    """

    def __init__(self, engine: Engine, owner: str, policy: SendingSettings) -> None:
        self._engine = engine
        self._owner = owner
        self._policy = policy
        self._renewed = time.monotonic()
        self._connection: Connection | None = None

    def record(self, update: RowUpdate, message_id: str | None, now: dt.datetime) -> None:
        """Write one row's new state; :raises ClaimLostError: if the row is no longer ours."""
        params = {
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
        self._write(_RECORD, params)
        self._maybe_renew(now)

    def fail_unbuilt(self, delivery_id: int, reason: str, now: dt.datetime) -> None:
        """Mark a row failed whose message could not be built (e.g. an invalid address)."""
        params = {"reply": reason[:MAX_REPLY_CHARS], "now": now, "id": delivery_id}
        self._write(_FAIL_UNBUILT, params | {"owner": self._owner})

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(self, statement: TextClause, params: Mapping[str, object]) -> None:
        connection = self._connect()
        with connection.begin():
            result = connection.execute(statement, params)
        if result.rowcount != 1:
            raise ClaimLostError(f"delivery {params['id']} is no longer owned by {self._owner}")

    def _maybe_renew(self, now: dt.datetime) -> None:
        if time.monotonic() - self._renewed < self._policy.lease_seconds / 4:
            return
        lease = now + dt.timedelta(seconds=self._policy.lease_seconds)
        connection = self._connect()
        with connection.begin():
            connection.execute(_RENEW, {"lease": lease, "owner": self._owner})
        self._renewed = time.monotonic()

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
            postgres = self._engine.dialect.name == "postgresql"
            if postgres and not self._policy.ledger_synchronous_commit:
                # A worker killed after the commit loses nothing (the server has it);
                # only a crash of the database server itself could lose the last few
                # hundred milliseconds of outcomes. LEDGER_SYNC_COMMIT=1 makes it wait.
                self._connection.exec_driver_sql("SET synchronous_commit = off")
                self._connection.commit()
        return self._connection
