"""Recording a decided bounce, complaint or unsubscribe in the database.

Each returned message becomes at most one :class:`~dispatcher.models.BounceEvent`;
the ledger row is marked ``bounced`` or ``complained`` (and its batch's counts
recounted), and the subscriptions change:

- hard bounce: the person's active subscriptions become ``bounced`` and the
  address is suppressed (``hard_bounce``): the address is dead for every list;
- soft bounce: ``soft_bounces`` of the delivery's subscription goes up by one,
  and at the threshold that subscription becomes ``bounced`` (no suppression:
  soft failures are often ours, a block or an outage, and pass); a message that
  reached the person since their previous soft bounce starts the count again
  (see :func:`~dispatcher.bounces.subscriptions.count_soft_bounce`);
- notice (a delay, or a relay, expansion or delivery report): recorded as an
  event with its action, status and diagnostic, to be shown; the ledger row and
  the subscription are left alone, as the message may still arrive;
- complaint: unsubscribed from the list, address suppressed (``complaint``);
- mail to the unsubscribe address: unsubscribed from that list.

Idempotent by design, without trusting Message-IDs (servers make new ones for
every notice): a delivery counts at most one soft bounce, one hard bounce and
one complaint, and a notice with the same action, status and words is kept
once. A repeated soft failure of one message is one soft bounce, so
``soft_bounces`` counts editions that failed, and reading the same mbox twice
changes nothing. A hard bounce after a soft one
for the same delivery is still recorded: it is news.

Services: they take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatcher.bounces import subscriptions
from dispatcher.bounces.decide import Bounce, Complaint, Decision, Notify, Unsubscribe
from dispatcher.bounces.outcome import Outcome
from dispatcher.bounces.verdict import RecipientStatus, Severity
from dispatcher.bounces.verp import DeliveryRef, SubscriptionRef
from dispatcher.models import BounceEvent, BounceKind, Delivery, DeliveryStatus
from dispatcher.sends.progress import refresh_batches_of
from subscribers.models import MailingList, Subscriber, Subscription

DIAGNOSTIC_CHARS = 2000
_RECEIVED = (DeliveryStatus.SENT.value, DeliveryStatus.UNCERTAIN.value)  # the relay took these


@dataclass(frozen=True)
class _Who:
    """The person, list and (when known) ledger row a returned message is about."""

    subscriber_id: int
    list_id: int
    delivery: Delivery | None


@dataclass(frozen=True)
class Policy:
    """What bounces do to subscriptions.

    :param suppression_keys: the secret keys of the suppression list's HMACs, current first
    :param soft_bounce_threshold: soft bounces (deliveries) after which a subscription is bounced
    """

    suppression_keys: tuple[str, ...]
    soft_bounce_threshold: int = 3


def apply(session: Session, decision: Decision, policy: Policy, now: dt.datetime) -> Outcome:
    """Record a decision; an :class:`Ignore` records nothing."""
    if isinstance(decision, Bounce):
        return record_bounce(session, decision, policy, now)
    if isinstance(decision, Notify):
        return record_notices(session, decision, now)
    if isinstance(decision, Complaint):
        return record_complaint(session, decision, policy, now)
    if isinstance(decision, Unsubscribe):
        return record_unsubscribe(session, decision, now)
    return decision.outcome


def record_bounce(session: Session, bounce: Bounce, policy: Policy, now: dt.datetime) -> Outcome:
    """Record a bounce of one delivery (see the module's rules).

    :returns: HARD or SOFT; DUPLICATE when already recorded; UNMATCHED when the
        delivery no longer exists
    """
    row = session.get(Delivery, bounce.delivery_id)
    if row is None:
        return Outcome.UNMATCHED
    _add_notices(session, row, bounce.notices, bounce.parser, now)  # a mixed DSN's delays
    hard = bounce.failure.severity is Severity.HARD
    kind = BounceKind.HARD if hard else BounceKind.SOFT
    if _recorded(session, row.id, (BounceKind.HARD,) if hard else (BounceKind.HARD, kind)):
        return Outcome.DUPLICATE
    failure = bounce.failure
    diagnostic = f"{failure.address}: {failure.diagnostic}".strip(": ")
    who = _Who(row.subscriber_id, row.list_id, row)
    _add_event(session, kind, who, bounce.parser, now, diagnostic, failure.status, "failed")
    _mark_delivery(session, row, DeliveryStatus.BOUNCED, _RECEIVED)
    if not hard:
        threshold = policy.soft_bounce_threshold
        subscriptions.count_soft_bounce(session, row, threshold, now)
        return Outcome.SOFT
    subscriptions.mark_bounced(session, row.subscriber_id, now)
    keys = policy.suppression_keys
    subscriptions.suppress(session, row.subscriber_id, "hard_bounce", keys, diagnostic)
    return Outcome.HARD


def record_notices(session: Session, notify: Notify, now: dt.datetime) -> Outcome:
    """Record a delay (or relay, expansion, delivery) notice; nothing else changes.

    :returns: NOTICE; DUPLICATE when the same notice was recorded before;
        UNMATCHED when the delivery no longer exists
    """
    row = session.get(Delivery, notify.delivery_id)
    if row is None:
        return Outcome.UNMATCHED
    added = _add_notices(session, row, notify.notices, notify.parser, now)
    return Outcome.NOTICE if added else Outcome.DUPLICATE


def record_complaint(
    session: Session, complaint: Complaint, policy: Policy, now: dt.datetime
) -> Outcome:
    """Record a spam complaint: unsubscribe from the list, suppress, mark the delivery.

    :returns: COMPLAINT; DUPLICATE when already recorded; UNMATCHED when the
        delivery or subscriber no longer exists
    """
    who = _complainant(session, complaint.target)
    if who is None:
        return Outcome.UNMATCHED
    if _complained(session, who):
        return Outcome.DUPLICATE
    _add_event(session, BounceKind.COMPLAINT, who, "arf", now, complaint.reason)
    if who.delivery is not None:
        complained_from = (*_RECEIVED, DeliveryStatus.BOUNCED.value)
        _mark_delivery(session, who.delivery, DeliveryStatus.COMPLAINED, complained_from)
    subscriptions.unsubscribe(session, who.subscriber_id, who.list_id, "complaint")
    keys = policy.suppression_keys
    subscriptions.suppress(session, who.subscriber_id, "complaint", keys, complaint.reason)
    return Outcome.COMPLAINT


def record_unsubscribe(session: Session, request: Unsubscribe, now: dt.datetime) -> Outcome:
    """Unsubscribe a person from a list because they wrote to its unsubscribe address.

    :returns: UNSUBSCRIBE; DUPLICATE when already unsubscribed; UNMATCHED when
        there is no such subscription
    """
    target = request.target
    exists = session.scalar(
        select(Subscription.id).where(
            Subscription.subscriber_id == target.subscriber_id,
            Subscription.list_id == target.list_id,
        )
    )
    if exists is None:
        return Outcome.UNMATCHED
    if not subscriptions.unsubscribe(session, target.subscriber_id, target.list_id, "mailto"):
        return Outcome.DUPLICATE
    who = _Who(target.subscriber_id, target.list_id, None)
    _add_event(session, BounceKind.UNSUBSCRIBE, who, "mailto", now)
    return Outcome.UNSUBSCRIBE


def bounce_domains(session: Session, configured: str | None) -> frozenset[str]:
    """The domains of our return addresses: the configured one, else every newsletter's From's."""
    if configured:
        return frozenset({configured.lower()})
    found = set()
    for settings in session.scalars(select(MailingList.settings)):
        address = parseaddr(str((settings or {}).get("from_address", "")))[1]
        if "@" in address:
            found.add(address.rpartition("@")[2].lower())
    return frozenset(found)


def _recorded(session: Session, delivery_id: int, kinds: Sequence[BounceKind]) -> bool:
    found = session.scalar(
        select(BounceEvent.id)
        .where(BounceEvent.delivery_id == delivery_id, BounceEvent.kind.in_(kinds))
        .limit(1)
    )
    return found is not None


def _add_notices(
    session: Session,
    row: Delivery,
    notices: Sequence[RecipientStatus],
    source: str,
    now: dt.datetime,
) -> int:
    """Add the notices not recorded before for this delivery; returns how many were added."""
    who = _Who(row.subscriber_id, row.list_id, row)
    added = 0
    for notice in notices:
        said = notice.diagnostic
        if notice.retry_until:
            said = f"{said} (will retry until {notice.retry_until})".strip()
        diagnostic = f"{notice.address}: {said}".strip(": ")[:DIAGNOSTIC_CHARS]
        seen = session.scalar(
            select(BounceEvent.id)
            .where(
                BounceEvent.delivery_id == row.id,
                BounceEvent.kind == BounceKind.NOTICE.value,
                BounceEvent.action == notice.action[:16],
                BounceEvent.diagnostic == diagnostic,
            )
            .limit(1)
        )
        if seen is None:
            kind = BounceKind.NOTICE
            _add_event(session, kind, who, source, now, diagnostic, notice.status, notice.action)
            added += 1
    return added


def _complainant(session: Session, target: DeliveryRef | SubscriptionRef) -> _Who | None:
    """Who a complaint is about: the delivery's person and list, or the unsubscribe token's."""
    if isinstance(target, DeliveryRef):
        row = session.get(Delivery, target.delivery_id)
        return None if row is None else _Who(row.subscriber_id, row.list_id, row)
    if session.get(Subscriber, target.subscriber_id) is None:
        return None
    return _Who(target.subscriber_id, target.list_id, None)


def _complained(session: Session, who: _Who) -> bool:
    query = select(BounceEvent.id).where(BounceEvent.kind == BounceKind.COMPLAINT.value)
    if who.delivery is not None:
        query = query.where(BounceEvent.delivery_id == who.delivery.id)
    else:
        query = query.where(
            BounceEvent.subscriber_id == who.subscriber_id, BounceEvent.list_id == who.list_id
        )
    return session.scalar(query.limit(1)) is not None


def _add_event(
    session: Session,
    kind: BounceKind,
    who: _Who,
    source: str,
    now: dt.datetime,
    diagnostic: str = "",
    status: str | None = None,
    action: str | None = None,
) -> None:
    session.add(
        BounceEvent(
            kind=kind.value,
            delivery_id=who.delivery.id if who.delivery is not None else None,
            subscriber_id=who.subscriber_id,
            list_id=who.list_id,
            status_code=status[:16] if status else None,
            action=action[:16] if action else None,
            diagnostic=diagnostic[:DIAGNOSTIC_CHARS],
            source=source[:32],
            received_at=now,
        )
    )


def _mark_delivery(
    session: Session, row: Delivery, status: DeliveryStatus, from_statuses: Sequence[str]
) -> None:
    """Move a ledger row to ``status`` if it is in one of ``from_statuses``; recount its batch."""
    changed = session.execute(
        update(Delivery)
        .where(Delivery.id == row.id, Delivery.status.in_(from_statuses))
        .values(status=status.value)
        .returning(Delivery.id)
    ).all()
    if changed:
        refresh_batches_of(session, [(row.send_id, row.id)])
