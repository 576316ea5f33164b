"""Claiming a batch's rows, and giving back what a task did not get to send.

A claim is a conditional UPDATE: it takes only rows still ``queued`` or
``deferred`` and due, and stamps them with an owner and a lease (kept in
``due_at``). A task that runs twice finds nothing left to claim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from dispatcher.message.personalise import Recipient
from dispatcher.models import Batch, BatchState, Send, SendState
from dispatcher.sends.sql import sql


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A claimed ledger row with what its outcome's bookkeeping needs."""

    recipient: Recipient
    attempts: int
    first_attempt_at: dt.datetime | None


@dataclass(frozen=True)
class Claim:
    """The rows one task owns, in delivery order (ascending id)."""

    batch_id: int
    send_id: int
    owner: str
    rows: tuple[ClaimedRow, ...]


_CLAIM = """
UPDATE deliveries SET status = 'sending', owner = :owner, due_at = :lease
WHERE send_id = :send_id AND id BETWEEN :first_id AND :last_id
  AND (status = 'queued' OR (status = 'deferred' AND due_at <= :now))
"""

# People who left every list of the send (or were suppressed) since the ledger was written.
_SKIP_GONE = """
UPDATE deliveries SET status = 'skipped', owner = NULL, due_at = NULL,
       smtp_reply = 'not sent: unsubscribed or suppressed after the send started'
WHERE owner = :owner AND status = 'sending'
  AND (NOT EXISTS (SELECT 1 FROM subscriptions s JOIN send_lists l ON l.list_id = s.list_id
                   WHERE l.send_id = deliveries.send_id
                     AND s.subscriber_id = deliveries.subscriber_id
                     AND s.status = 'confirmed')
       OR EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = deliveries.subscriber_id))
"""

# People who got a correction of this edition meanwhile (a row in flight when it started,
# deferred since): the correction replaced this message.
_SKIP_SUPERSEDED = """
UPDATE deliveries SET status = 'skipped', owner = NULL, due_at = NULL,
       smtp_reply = 'not sent: superseded by a correction'
WHERE owner = :owner AND status = 'sending'
  AND EXISTS (SELECT 1 FROM deliveries c
              WHERE c.send_id IN :corrections AND c.subscriber_id = deliveries.subscriber_id)
"""

_CORRECTIONS_OF = """
SELECT c.id FROM sends c JOIN sends o ON o.id = c.parent_send_id
WHERE c.kind = 'correction' AND c.started_at IS NOT NULL AND o.edition_id = :edition_id
"""

_CLAIMED_ROWS = """
SELECT d.id, d.subscriber_id, d.list_id, p.email, p.name, d.attempts, d.first_attempt_at,
       d.variant
FROM deliveries d JOIN subscribers p ON p.id = d.subscriber_id
WHERE d.owner = :owner AND d.status = 'sending'
ORDER BY d.id
"""

_RELEASE = """
UPDATE deliveries SET status = 'queued', owner = NULL, due_at = NULL
WHERE owner = :owner AND status = 'sending'
"""


def claim_batch(
    session: Session, batch_id: int, owner: str, now: dt.datetime, lease: dt.timedelta
) -> Claim | None:
    """Claim the batch's deliverable rows for ``owner``.

    :returns: the claim (possibly with no rows), or None when the batch does not
        exist or its send is not running or is held back after a relay failure
    """
    batch = session.get(Batch, batch_id)
    if batch is None:
        return None
    send = session.get_one(Send, batch.send_id)
    if send.state != SendState.RUNNING.value or (send.hold_until and send.hold_until > now):
        return None
    session.execute(
        sql(_CLAIM),
        {
            "owner": owner,
            "lease": now + lease,
            "send_id": batch.send_id,
            "first_id": batch.first_id,
            "last_id": batch.last_id,
            "now": now,
        },
    )
    session.execute(sql(_SKIP_GONE), {"owner": owner})
    _skip_superseded(session, owner, send.edition_id)
    batch.state, batch.touched_at = BatchState.RUNNING.value, now
    rows = session.execute(sql(_CLAIMED_ROWS), {"owner": owner}).all()
    claimed = tuple(
        ClaimedRow(Recipient(r[0], r[1], r[2], r[3], r[4], r[7]), r[5], _aware(r[6])) for r in rows
    )
    return Claim(batch_id, batch.send_id, owner, claimed)


def _skip_superseded(session: Session, owner: str, edition_id: int) -> None:
    """Skip claimed rows whose people got a correction of the edition since the row was
    written (one small look at the sends per claim; the UPDATE only when there is one)."""
    corrections = list(session.scalars(sql(_CORRECTIONS_OF), {"edition_id": edition_id}))
    if corrections:
        statement = sql(_SKIP_SUPERSEDED).bindparams(bindparam("corrections", expanding=True))
        session.execute(statement, {"owner": owner, "corrections": corrections})


def release(session: Session, owner: str) -> int:
    """Give the owner's unsent rows back to the queue, attempts unspent.

    :returns: how many rows went back
    """
    return int(session.execute(sql(_RELEASE), {"owner": owner}).rowcount)  # type: ignore[attr-defined]


def hold_send(session: Session, send_id: int, now: dt.datetime, base: float, cap: float) -> float:
    """Hold a send back after the relay could not be reached; backoff doubles per failure.

    :returns: the hold in seconds
    """
    failures = session.scalar(select(Send.relay_failures).where(Send.id == send_id)) or 0
    seconds = float(min(cap, base * 2 ** int(failures)))
    session.execute(
        update(Send)
        .where(Send.id == send_id)
        .values(
            hold_until=now + dt.timedelta(seconds=seconds),
            relay_failures=Send.relay_failures + 1,
        )
    )
    return seconds


def hold_for(session: Session, send_id: int, now: dt.datetime, seconds: float) -> None:
    """Hold a send back while a sending limit is spent (no relay failure is counted)."""
    session.execute(
        update(Send)
        .where(Send.id == send_id)
        .values(hold_until=now + dt.timedelta(seconds=seconds))
    )


def clear_hold(session: Session, send_id: int) -> None:
    """Forget earlier relay failures once a message went through."""
    session.execute(
        update(Send)
        .where(Send.id == send_id, Send.relay_failures > 0)
        .values(hold_until=None, relay_failures=0)
    )


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes (or strings from raw SQL); the ledger keeps UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
