"""Who a send reaches: the one place that turns a send into its ledger's recipients.

Every kind of send goes through :func:`write_ledger` when it starts (``dispatcher
send``, the desk's schedule and send-now, a late send, a correction; a retry
reaches only rows its send already has). One rule holds for all of them: nobody
receives an edition twice. A person who already received the edition from another
send of it (see :data:`RECEIVED_STATUSES`) gets no row, whatever list the new send
goes to; ``again`` only lets a send reach a list that already had the edition, and
then reaches those who did not get it. The rules, by kind:

- ``normal``: the confirmed subscribers of the send's lists, each once, however
  many of the lists they are on, except those who already received the edition;
- ``late``: the same, but "already has it" means any row of the edition at all:
  someone who failed or was skipped the first time is no newcomer;
- ``correction``: not the lists' subscribers but everyone who received the
  corrected edition, through any of its sends (the original, late sends, sends
  again, to other lists); those no longer confirmed on any of those sends' lists
  are skipped. The corrected edition's rows still on their way (queued, deferred)
  are settled as ``skipped``, superseded: those people get the correction instead,
  never both. From then on the correction's rows count as having received the
  corrected edition too, so a later send of it does not reach them.

- ``dry_run``: the audience a normal send would have, written to a folder instead of
  sent (:mod:`dispatcher.sends.dryrun`). Its ledger also holds, as ``skipped`` rows
  with the reason, the people on the lists a real send would leave out (suppressed,
  not confirmed, already received), so its report can say who and why. Its rows are
  never received (they end ``skipped``), and a dry run never counts as a send of the
  edition: it does not make a later send "again", nor is it "prior" to one.

Suppressed people get a ``skipped`` row with the reason, never a message. Before a
send exists, :func:`refuse_repeat` keeps a normal send from reaching a list that
already had its edition unless ``again`` is asked for.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from dispatcher.errors import StateError
from dispatcher.models import Batch, DeliveryStatus, Send, SendList, SendState
from dispatcher.sends import progress
from dispatcher.sends.sql import sql
from subscribers.models import MailingList

KIND_NORMAL = "normal"
KIND_LATE = "late"  # the same edition, to people who subscribed after the send
KIND_CORRECTION = "correction"  # another edition, to the people who got the original
KIND_DRY_RUN = "dry_run"  # the normal audience, written to a folder: reaches nobody

#: What "already received the edition" means: a row of another send carrying it that is
#: sent, uncertain, bounced or complained (the relay took the message; a bounce report
#: may come for a message that was read, and a hard bounce suppresses the address
#: anyway); or queued, sending or deferred (on its way in that send); or failed but in
#: doubt (no reply after the final dot at some attempt: it may have arrived). Failed
#: rows never in doubt (refused, expired) and skipped rows (never sent: suppressed,
#: gone, cancelled, superseded, or written to an outbox that is not the production
#: transport) are not received: a later send may reach those people.
RECEIVED_STATUSES = ("queued", "sending", "sent", "deferred", "uncertain", "bounced", "complained")
#: A late send reaches only people with no row of the edition at all.
ANY_STATUS = tuple(status.value for status in DeliveryStatus)
#: A correction settles the corrected edition's rows in these statuses.
SUPERSEDED_STATUSES = ("queued", "deferred")
SUPERSEDED_REPLY = "not sent: superseded by correction send {send_id}"

# A person who already received the edition through one of the :prior sends.
_RECEIVED = """
  AND NOT EXISTS (
    SELECT 1 FROM deliveries r
    WHERE r.send_id IN :prior AND r.subscriber_id = {who}.subscriber_id
      AND (r.status IN :received OR (r.status = 'failed' AND r.in_doubt)))
"""

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
  {received_clause}
GROUP BY s.subscriber_id
ORDER BY s.subscriber_id
"""

_SUPPRESSED = "EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = s.subscriber_id)"
_UNCONFIRMED = "MAX(CASE WHEN s.status = 'confirmed' THEN 1 ELSE 0 END) = 0"
_HAD_IT = """EXISTS (SELECT 1 FROM deliveries r
    WHERE r.send_id IN :prior AND r.subscriber_id = s.subscriber_id
      AND (r.status IN :received OR (r.status = 'failed' AND r.in_doubt)))"""
SKIP_SUPPRESSED = "not sent: the address is on the suppression list"
SKIP_UNCONFIRMED = "not sent: not confirmed on the send's lists"
SKIP_RECEIVED = "not sent: already received this edition"

# Everyone on the send's lists: those a normal send reaches are queued, the others
# skipped with the reason (the dry run reports them).
_DRY_RUN_TEMPLATE = """
INSERT INTO deliveries (send_id, subscriber_id, list_id, status, smtp_reply,
                        attempts, in_doubt, created_at)
SELECT :send_id, s.subscriber_id,
       COALESCE(MIN(CASE WHEN s.status = 'confirmed' THEN s.list_id END), MIN(s.list_id)),
       CASE WHEN {suppressed} OR {unconfirmed} OR {had_it} THEN 'skipped' ELSE 'queued' END,
       CASE WHEN {suppressed} THEN :suppressed
            WHEN {unconfirmed} THEN :unconfirmed
            WHEN {had_it} THEN :had_it ELSE NULL END,
       0, false, :now
FROM subscriptions s
WHERE s.list_id IN (SELECT list_id FROM send_lists WHERE send_id = :send_id)
GROUP BY s.subscriber_id
ORDER BY s.subscriber_id
"""
_INSERT_DRY_RUN = _DRY_RUN_TEMPLATE.format(  # nosec B608 - the module's SQL constants
    suppressed=_SUPPRESSED, unconfirmed=_UNCONFIRMED, had_it=_HAD_IT
)

# Everyone who received the corrected edition through one of the :sources sends.
_INSERT_CORRECTION = """
INSERT INTO deliveries (send_id, subscriber_id, list_id, status, smtp_reply,
                        attempts, in_doubt, created_at)
SELECT :send_id, p.subscriber_id, MIN(p.list_id),
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
FROM deliveries p
WHERE p.send_id IN :sources AND (p.status IN :received OR (p.status = 'failed' AND p.in_doubt))
  {received_clause}
GROUP BY p.subscriber_id
ORDER BY p.subscriber_id
"""


def write_ledger(session: Session, send: Send, now: dt.datetime) -> int:
    """Write one ``queued`` (or ``skipped``) row per recipient of ``send``, in one statement.

    A correction also settles the corrected edition's rows still on their way.

    :returns: how many rows were written
    """
    prior = sends_carrying(session, send.edition_id, exclude=send.id)
    if send.kind == KIND_DRY_RUN:
        return _write_dry_run(session, send, prior, now)
    lists: dict[str, list[object]] = {}
    if send.kind == KIND_CORRECTION:
        sources = corrected_sends(session, send)
        template, who = _INSERT_CORRECTION, "p"
        lists |= {"sources": list(sources), "received": list(RECEIVED_STATUSES)}
    else:
        template, who = _INSERT_LEDGER, "s"
    if prior:  # the first send of an edition (the common case) needs no look at the ledger
        received = ANY_STATUS if send.kind == KIND_LATE else RECEIVED_STATUSES
        lists |= {"prior": list(prior), "received": list(received)}
    text = template.format(received_clause=_RECEIVED.format(who=who) if prior else "")
    statement = sql(text).bindparams(*(bindparam(name, expanding=True) for name in lists))
    result = session.execute(statement, {**lists, "send_id": send.id, "now": now})
    if send.kind == KIND_CORRECTION:
        _supersede(session, send.id, sources, now)
    return int(result.rowcount)  # type: ignore[attr-defined]


def _write_dry_run(session: Session, send: Send, prior: list[int], now: dt.datetime) -> int:
    lists = {"prior": list(prior), "received": list(RECEIVED_STATUSES)}
    statement = sql(_INSERT_DRY_RUN).bindparams(
        *(bindparam(name, expanding=True) for name in lists)
    )
    reasons = {
        "suppressed": SKIP_SUPPRESSED,
        "unconfirmed": SKIP_UNCONFIRMED,
        "had_it": SKIP_RECEIVED,
    }
    result = session.execute(statement, {**lists, **reasons, "send_id": send.id, "now": now})
    return int(result.rowcount)  # type: ignore[attr-defined]


def sends_carrying(session: Session, edition_id: int, *, exclude: int | None = None) -> list[int]:
    """The started sends through which people receive ``edition_id``: its own, and its
    corrections' (a correction's recipients count as having received the edition it
    corrects). Sends that never started have no rows."""
    parent = aliased(Send)
    started = Send.started_at.is_not(None) & (Send.kind != KIND_DRY_RUN)
    own = select(Send.id).where(Send.edition_id == edition_id, started)
    corrections = (
        select(Send.id)
        .join(parent, parent.id == Send.parent_send_id)
        .where(Send.kind == KIND_CORRECTION, parent.edition_id == edition_id, started)
    )
    found: set[int] = set(session.scalars(own.union(corrections)))
    return sorted(found - {exclude})


def corrected_sends(session: Session, correction: Send) -> list[int]:
    """The sends whose recipients a correction reaches: every send carrying the edition of
    the send it follows (its original, late sends, sends again, to other lists)."""
    original = session.get_one(Send, correction.parent_send_id)
    return sends_carrying(session, original.edition_id, exclude=correction.id)


def _supersede(session: Session, correction_id: int, sources: list[int], now: dt.datetime) -> None:
    """Settle the corrected edition's rows still on their way: the correction replaces them."""
    reply = SUPERSEDED_REPLY.format(send_id=correction_id)
    for send_id in sources:
        if progress.skip_unsent(session, send_id, now, reply):
            progress.finish_if_done(session, send_id, now)


def refuse_repeat(session: Session, edition_id: int, list_ids: list[int]) -> None:
    """Refuse a send of an edition to lists that already had it.

    A send counts unless it was cancelled, or finished with nobody having received the
    edition through it (everyone refused, or written to an outbox that is not the
    production transport): sending again after that needs no ``--again``.

    :raises StateError: naming each list and the earlier send
    """
    earlier = earlier_sends(session, edition_id, list_ids)
    if earlier:
        named = ", ".join(f"{slug} (send {send_id})" for slug, send_id in earlier)
        raise StateError(
            f"edition {edition_id} was already sent to {named}; "
            "use --again to send it to those who did not get it"
        ).coded("send.already_sent", edition=edition_id, lists=", ".join(s for s, _ in earlier))


def earlier_sends(session: Session, edition_id: int, list_ids: list[int]) -> list[tuple[str, int]]:
    """The lists among ``list_ids`` that already had the edition, with their first send.

    :returns: ``(slug, send id)`` pairs: what :func:`refuse_repeat` refuses
    """
    took = Batch.n_sent + Batch.n_uncertain + Batch.n_bounced + Batch.n_complained
    someone_received = select(Batch.id).where(Batch.send_id == Send.id, took > 0).exists()
    earlier = session.execute(
        select(MailingList.slug, func.min(Send.id))
        .join(SendList, SendList.list_id == MailingList.id)
        .join(Send, Send.id == SendList.send_id)
        .where(
            Send.edition_id == edition_id,
            SendList.list_id.in_(list_ids),
            Send.state != SendState.CANCELLED.value,
            Send.kind != KIND_DRY_RUN,
            or_(Send.state != SendState.FINISHED.value, someone_received),
        )
        .group_by(MailingList.slug)
        .order_by(MailingList.slug)
    ).all()
    return [(slug, send_id) for slug, send_id in earlier]


# -- counting an audience before its send exists (the desk's confirmations) --------------------

# The rows :data:`_INSERT_LEDGER` and :data:`_INSERT_CORRECTION` would write as ``queued``,
# counted with the same clauses: the send's lists are given, since the send does not exist.
_NOT_SUPPRESSED = "NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.subscriber_id = {who})"
_COUNT_LISTS = """
SELECT COUNT(*) FROM (SELECT s.subscriber_id FROM subscriptions s
WHERE s.status = 'confirmed' AND s.list_id IN :list_ids AND {not_suppressed}
  {received_clause}
GROUP BY s.subscriber_id) AS audience
"""
_COUNT_CORRECTION = """
SELECT COUNT(*) FROM (SELECT p.subscriber_id FROM deliveries p
WHERE p.send_id IN :sources AND (p.status IN :received OR (p.status = 'failed' AND p.in_doubt))
  AND {not_suppressed}
  AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.subscriber_id = p.subscriber_id
              AND s.status = 'confirmed' AND s.list_id IN :list_ids)
  {received_clause}
GROUP BY p.subscriber_id) AS audience
"""


def count_audience(
    session: Session,
    edition_id: int,
    list_ids: list[int],
    kind: str = KIND_NORMAL,
    corrected_edition_id: int | None = None,
) -> int:
    """How many people a send would reach if it started now: the ``queued`` rows that
    :func:`write_ledger` would write (suppressed people, who get a skipped row, are not
    counted).

    :param kind: ``normal`` (also a send ``again``), ``late`` or ``correction``
    :param corrected_edition_id: for a correction, the edition it corrects
    """
    if not list_ids:
        return 0
    prior = sends_carrying(session, edition_id)
    params: dict[str, list[object]] = {"list_ids": list(list_ids)}
    if kind == KIND_CORRECTION:
        if corrected_edition_id is None:
            raise ValueError("a correction's count needs the edition it corrects")
        sources = sends_carrying(session, corrected_edition_id)
        if not sources:
            return 0
        template, who = _COUNT_CORRECTION, "p"
        params |= {"sources": list(sources), "received": list(RECEIVED_STATUSES)}
    else:
        template, who = _COUNT_LISTS, "s"
    if prior:
        received = ANY_STATUS if kind == KIND_LATE else RECEIVED_STATUSES
        params |= {"prior": list(prior), "received": list(received)}
    text = template.format(
        not_suppressed=_NOT_SUPPRESSED.format(who=f"{who}.subscriber_id"),
        received_clause=_RECEIVED.format(who=who) if prior else "",
    )
    statement = sql(text).bindparams(*(bindparam(name, expanding=True) for name in params))
    return int(session.scalar(statement, params) or 0)
