"""Who a send reaches: the one place that turns a send into its ledger's recipients.

Every kind of send goes through :func:`write_ledger` when it starts (``dispatcher
send``, the desk's schedule and send-now, a late send, a correction; a retry
reaches only rows its send already has). The rules, by kind:

- ``normal``: the confirmed subscribers of the send's lists, each once, however
  many of the lists they are on; with ``again``, not those who already have this
  edition from an earlier send (never twice to one person);
- ``late``: the same, but "already has it" means any row of the edition at all:
  someone who failed or was skipped the first time is no newcomer;
- ``correction``: not the lists' subscribers but the original's recipients who
  may have its message; those no longer confirmed on any of the lists are skipped.

Suppressed people get a ``skipped`` row with the reason, never a message. Before a
send exists, :func:`refuse_repeat` keeps a normal send from reaching a list that
already had its edition unless ``again`` is asked for.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from dispatcher.errors import StateError
from dispatcher.models import DeliveryStatus, Send, SendList, SendState
from dispatcher.sends.sql import sql
from subscribers.models import MailingList

KIND_NORMAL = "normal"
KIND_LATE = "late"  # the same edition, to people who subscribed after the send
KIND_CORRECTION = "correction"  # another edition, to the people who got the original

#: Rows of an earlier send of the same edition that count as "already received".
RECEIVED_STATUSES = ("queued", "sending", "sent", "deferred", "uncertain", "bounced", "complained")
#: A late send reaches only people with no row of the edition at all.
ANY_STATUS = tuple(status.value for status in DeliveryStatus)
#: The original's rows whose people may have the message, and so get its correction.
CORRECTED_STATUSES = ("sent", "uncertain", "bounced", "complained")

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

# With again, nobody who already has this edition from an earlier send gets it twice.
_AGAIN_CLAUSE = """
  AND NOT EXISTS (
    SELECT 1 FROM deliveries p JOIN sends ps ON ps.id = p.send_id
    WHERE ps.edition_id = :edition_id AND ps.id <> :send_id
      AND p.subscriber_id = s.subscriber_id AND p.status IN :received)
"""

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


def write_ledger(session: Session, send: Send, now: dt.datetime) -> int:
    """Write one ``queued`` (or ``skipped``) row per recipient of ``send``, in one statement.

    :returns: how many rows were written
    """
    if send.kind == KIND_CORRECTION:
        statement = sql(_INSERT_CORRECTION).bindparams(bindparam("corrected", expanding=True))
        params: dict[str, object] = {"corrected": list(CORRECTED_STATUSES)}
    elif send.again:
        received = ANY_STATUS if send.kind == KIND_LATE else RECEIVED_STATUSES
        statement = sql(_INSERT_LEDGER.format(again_clause=_AGAIN_CLAUSE))
        statement = statement.bindparams(bindparam("received", expanding=True))
        params = {"edition_id": send.edition_id, "received": list(received)}
    else:
        statement, params = sql(_INSERT_LEDGER.format(again_clause="")), {}
    result = session.execute(statement, params | {"send_id": send.id, "now": now})
    return int(result.rowcount)  # type: ignore[attr-defined]


def refuse_repeat(session: Session, edition_id: int, list_ids: list[int]) -> None:
    """Refuse a send of an edition to lists that already had it (not cancelled).

    :raises StateError: naming each list and the earlier send
    """
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
