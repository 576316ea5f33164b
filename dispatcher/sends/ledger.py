"""Creating sends and writing their ledger and batches in set-based statements.

:func:`create_send` is the one function that creates a send; who the ledger
holds is :mod:`dispatcher.sends.audience`'s decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.models import Batch, DeliveryStatus, Edition, Send, SendList, SendState
from dispatcher.sends import audience, variants
from dispatcher.sends.sql import sql
from subscribers.models import MailingList

#: A ledger this large gets its statistics refreshed as it is written (see start_send).
ANALYZE_FROM_ROWS = 10_000

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
    kind: str = audience.KIND_NORMAL,
    parent: Send | None = None,
    created_by: str = "",
) -> Send:
    """Create a scheduled send: every path that makes a send (normal, late, correction) calls this.

    Who it reaches is decided when it starts (:mod:`dispatcher.sends.audience`).

    :param kind: ``normal``, or ``late`` / ``correction`` following ``parent``
    :raises NotFoundError: if the edition or a list does not exist
    :raises StateError: if a list already had this edition and ``again`` is not set
        (normal sends only: a late send or a correction follows one on purpose)
    """
    if session.get(Edition, edition_id) is None:
        raise NotFoundError(f"no edition with id {edition_id}")
    lists = _lists_by_slug(session, list_slugs)
    if kind == audience.KIND_NORMAL and not again:
        audience.refuse_repeat(session, edition_id, [m.id for m in lists])
    send = Send(
        edition_id=edition_id,
        scheduled_at=scheduled_at,
        again=again,
        kind=kind,
        parent_send_id=parent.id if parent is not None else None,
        created_by=created_by,
    )
    session.add(send)
    session.flush()
    session.add_all(SendList(send_id=send.id, list_id=m.id) for m in lists)
    session.flush()
    return send


def list_slugs(session: Session, send_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The slugs of each send's lists, in alphabetical order."""
    query = (
        select(SendList.send_id, MailingList.slug)
        .join(SendList, SendList.list_id == MailingList.id)
        .where(SendList.send_id.in_(send_ids))
        .order_by(MailingList.slug)
    )
    found: dict[int, tuple[str, ...]] = {send_id: () for send_id in send_ids}
    for send_id, slug in session.execute(query):
        found[send_id] += (slug,)
    return found


def start_send(session: Session, send_id: int, now: dt.datetime, batch_size: int) -> int | None:
    """Move a scheduled send to running and write its ledger and batches.

    The state change is conditional, so two starters (a beat tick and a command)
    cannot both write a ledger.

    :returns: the number of ledger rows written, or None if the send was not
        scheduled (another starter was first, or it was cancelled)
    """
    started = session.execute(
        update(Send)
        .where(Send.id == send_id, Send.state == SendState.SCHEDULED.value)
        # state_reason: why it was held until now (the calendar, an approval), now moot
        .values(state=SendState.RUNNING.value, started_at=now, state_reason="")
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        return None
    send = session.get_one(Send, send_id)
    rows = audience.write_ledger(session, send, now)
    # Each row's edition variant (language, sections): nothing to do for most editions.
    variants.assign_variants(session, send_id, session.get_one(Edition, send.edition_id))
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


def batch_ids_of(session: Session, send_id: int) -> list[int]:
    return list(session.scalars(select(Batch.id).where(Batch.send_id == send_id)))


QUEUED = DeliveryStatus.QUEUED.value
