"""Creating sends and writing their ledger in set-based statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import Batch, DeliveryStatus, Edition, Send, SendList, SendState
from dispatcher.sends.sql import sql
from subscribers.models import MailingList

#: Rows of an earlier send of the same edition that count as "already received".
RECEIVED_STATUSES = ("queued", "sending", "sent", "deferred", "uncertain", "bounced", "complained")
#: A late send (kind "late", see sends.control) reaches only people with no row of the
#: edition at all: someone who failed or was skipped the first time is no newcomer.
ANY_STATUS = tuple(status.value for status in DeliveryStatus)
#: The original's rows whose people may have the message, and so get its correction.
CORRECTED_STATUSES = ("sent", "uncertain", "bounced", "complained")
#: A ledger this large gets its statistics refreshed as it is written (see start_send).
ANALYZE_FROM_ROWS = 10_000

_INSERT_LEDGER = """
INSERT INTO deliveries (send_id, subscriber_id, list_id, status, smtp_reply,
                        attempts, in_doubt, created_at)
SELECT :send_id, s.subscriber_id, MIN(s.list_id),
       CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = s.subscriber_id)
            THEN 'skipped' ELSE 'queued' END,
       CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = s.subscriber_id)
            THEN 'not sent: the address is on the suppression list' ELSE NULL END,
       0, false, :now
FROM subscriptions s
WHERE s.status = 'confirmed'
  AND s.list_id IN (SELECT list_id FROM send_lists WHERE send_id = :send_id)
  {again_clause}
GROUP BY s.subscriber_id
ORDER BY s.subscriber_id
"""

# With --again, nobody who already has this edition from an earlier send gets it twice.
_AGAIN_CLAUSE = """
  AND NOT EXISTS (
    SELECT 1 FROM deliveries p JOIN sends ps ON ps.id = p.send_id
    WHERE ps.edition_id = :edition_id AND ps.id <> :send_id
      AND p.subscriber_id = s.subscriber_id AND p.status IN :received)
"""

# A correction (kind "correction") goes to the original's recipients, not to the lists'
# subscribers; people suppressed or no longer confirmed on any of the lists are skipped.
_INSERT_CORRECTION = """
INSERT INTO deliveries (send_id, subscriber_id, list_id, status, smtp_reply,
                        attempts, in_doubt, created_at)
SELECT :send_id, p.subscriber_id, p.list_id,
       CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = p.subscriber_id)
              OR NOT EXISTS (SELECT 1 FROM subscriptions s JOIN send_lists l
                             ON l.list_id = s.list_id AND l.send_id = :send_id
                             WHERE s.subscriber_id = p.subscriber_id AND s.status = 'confirmed')
            THEN 'skipped' ELSE 'queued' END,
       CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = p.subscriber_id)
            THEN 'not sent: the address is on the suppression list'
            WHEN NOT EXISTS (SELECT 1 FROM subscriptions s JOIN send_lists l
                             ON l.list_id = s.list_id AND l.send_id = :send_id
                             WHERE s.subscriber_id = p.subscriber_id AND s.status = 'confirmed')
            THEN 'not sent: unsubscribed since the original' ELSE NULL END,
       0, false, :now
FROM deliveries p JOIN sends c ON c.id = :send_id
WHERE p.send_id = c.parent_send_id AND p.status IN :corrected
ORDER BY p.subscriber_id
"""

_INSERT_BATCHES = """
INSERT INTO batches (send_id, first_id, last_id, state, touched_at, n_queued, n_skipped,
                     n_sending, n_sent, n_deferred, n_failed, n_uncertain, n_bounced,
                     n_complained)
SELECT :send_id, MIN(id), MAX(id),
       CASE WHEN SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) > 0
            THEN 'pending' ELSE 'done' END,
       :now,
       SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END),
       0, 0, 0, 0, 0, 0, 0
FROM (SELECT id, status, (ROW_NUMBER() OVER (ORDER BY id) - 1) / :size AS grp
      FROM deliveries WHERE send_id = :send_id) numbered
GROUP BY grp
"""


def create_send(
    session: Session,
    edition_id: int,
    list_slugs: Sequence[str],
    scheduled_at: dt.datetime,
    *,
    again: bool = False,
) -> Send:
    """Create a scheduled send of an edition to one or more lists.

    :raises NotFoundError: if the edition or a list does not exist
    :raises StateError: if a list already had this edition and ``again`` is not set
    """
    if session.get(Edition, edition_id) is None:
        raise NotFoundError(f"no edition with id {edition_id}")
    lists = _lists_by_slug(session, list_slugs)
    if not again:
        _refuse_repeat(session, edition_id, [m.id for m in lists])
    send = Send(edition_id=edition_id, scheduled_at=scheduled_at, again=again)
    session.add(send)
    session.flush()
    session.add_all(SendList(send_id=send.id, list_id=m.id) for m in lists)
    session.flush()
    return send


def start_send(session: Session, send_id: int, now: dt.datetime, batch_size: int) -> int:
    """Move a scheduled send to running and write its ledger and batches.

    The state change is conditional, so two starters (a beat tick and a command)
    cannot both write a ledger.

    :returns: the number of ledger rows written, or -1 if the send was not scheduled
    """
    started = session.execute(
        update(Send)
        .where(Send.id == send_id, Send.state == SendState.SCHEDULED.value)
        .values(state=SendState.RUNNING.value, started_at=now)
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        return -1
    send = session.get_one(Send, send_id)
    rows = _insert_ledger(session, send, now)
    session.execute(sql(_INSERT_BATCHES), {"send_id": send_id, "now": now, "size": batch_size})
    if rows >= ANALYZE_FROM_ROWS and session.get_bind().dialect.name == "postgresql":
        # Statistics that predate a large ledger (or a table never analysed: autovacuum may
        # be off, or not have come round yet) make the planner claim a batch through the
        # index of all the send's queued rows instead of the batch's id range: a cost that
        # grows with the send, 0.5 ms more per message at 1,000,000 rows. The sample is
        # fixed in size (about 0.3 s at a million rows), and sees this transaction's rows.
        session.execute(sql("ANALYZE deliveries, batches"))
    return rows


def due_sends(session: Session, now: dt.datetime) -> list[int]:
    """Ids of scheduled sends whose time has come."""
    query = select(Send.id).where(Send.state == SendState.SCHEDULED.value, Send.scheduled_at <= now)
    return list(session.scalars(query.order_by(Send.scheduled_at)))


def _insert_ledger(session: Session, send: Send, now: dt.datetime) -> int:
    if send.kind == "correction":
        return _insert_correction_ledger(session, send, now)
    clause = _AGAIN_CLAUSE if send.again else ""
    statement = sql(_INSERT_LEDGER.format(again_clause=clause))
    params: dict[str, object] = {"send_id": send.id, "now": now}
    if send.again:
        received = ANY_STATUS if send.kind == "late" else RECEIVED_STATUSES
        statement = statement.bindparams(bindparam("received", expanding=True))
        params |= {"edition_id": send.edition_id, "received": list(received)}
    result = session.execute(statement, params)
    return int(result.rowcount)  # type: ignore[attr-defined]


def _insert_correction_ledger(session: Session, send: Send, now: dt.datetime) -> int:
    statement = sql(_INSERT_CORRECTION).bindparams(bindparam("corrected", expanding=True))
    params = {"send_id": send.id, "now": now, "corrected": list(CORRECTED_STATUSES)}
    return int(session.execute(statement, params).rowcount)  # type: ignore[attr-defined]


def _lists_by_slug(session: Session, slugs: Sequence[str]) -> list[MailingList]:
    if not slugs:
        raise NotFoundError("a send needs at least one list")
    found = {
        m.slug: m for m in session.scalars(select(MailingList).where(MailingList.slug.in_(slugs)))
    }
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise NotFoundError(f"no list with slug {', '.join(missing)}")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def _refuse_repeat(session: Session, edition_id: int, list_ids: list[int]) -> None:
    earlier = session.execute(
        select(MailingList.slug, func.min(Send.id))
        .join(SendList, SendList.list_id == MailingList.id)
        .join(Send, Send.id == SendList.send_id)
        .where(
            Send.edition_id == edition_id,
            SendList.list_id.in_(list_ids),
            Send.state != SendState.CANCELLED.value,
        )
        .group_by(MailingList.slug)
    ).all()
    if earlier:
        named = ", ".join(f"{slug} (send {send_id})" for slug, send_id in earlier)
        raise StateError(
            f"edition {edition_id} was already sent to {named}; "
            "use --again to send it to those who did not get it"
        )


def batch_ids_of(session: Session, send_id: int) -> list[int]:
    return list(session.scalars(select(Batch.id).where(Batch.send_id == send_id)))


QUEUED = DeliveryStatus.QUEUED.value
