"""Consent as an append-only history: each step a row, never overwritten.

A subscription's fields say where a person stands now; this history says how they
got there, as the privacy notice promises: every sign-up request, confirmation
(with the IP of the confirmation), unsubscription and change of preferences, with
its time, IP, way and privacy notice version. :mod:`subscribers.consent` appends
a row at each step; the export of a person includes them; erasure deletes them.

Unconfirmed sign-ups are not kept for ever: :func:`purge_unconfirmed` deletes, after
a number of days (``UNCONFIRMED_RETENTION_DAYS``), the pending subscriptions, the
unused sign-up requests and their events, with the IPs they hold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from subscribers.models import ConsentEvent, MailingList, SignupRequest, Subscription
from subscribers.orm import ConsentEventKind, SubscriptionStatus, utcnow


def record(
    session: Session,
    subscriber_id: int,
    event: ConsentEventKind,
    *,
    source: str,
    list_id: int | None = None,
    ip: str | None = None,
    privacy_version: str | None = None,
    detail: str = "",
) -> ConsentEvent:
    """Append one step of a person's consent (the caller's transaction keeps it)."""
    row = ConsentEvent(
        subscriber_id=subscriber_id,
        list_id=list_id,
        event=event.value,
        source=source[:16],
        ip=ip,
        privacy_version=privacy_version,
        detail=detail,
        created_at=utcnow(),
    )
    session.add(row)
    return row


def history_of(session: Session, subscriber_id: int) -> list[dict[str, Any]]:
    """The person's consent events, oldest first, as JSON-ready values (for the export)."""
    rows = session.execute(
        select(ConsentEvent, MailingList.slug)
        .outerjoin(MailingList, MailingList.id == ConsentEvent.list_id)
        .where(ConsentEvent.subscriber_id == subscriber_id)
        .order_by(ConsentEvent.id)
    )
    return [
        {
            "event": e.event,
            "list": slug,
            "at": e.created_at.isoformat(),
            "ip": e.ip,
            "how": e.source,
            "privacy_version": e.privacy_version,
            "detail": e.detail,
        }
        for e, slug in rows
    ]


def forget(session: Session, subscriber_id: int) -> int:
    """Delete the person's consent history (erasure): returns how many events it had."""
    done = session.execute(delete(ConsentEvent).where(ConsentEvent.subscriber_id == subscriber_id))
    return int(getattr(done, "rowcount", 0))


@dataclass(frozen=True)
class UnconfirmedPurge:
    """What :func:`purge_unconfirmed` deleted."""

    cutoff: dt.datetime
    subscriptions: int
    requests: int
    events: int


def purge_unconfirmed(
    session: Session, older_than_days: int, *, now: dt.datetime | None = None
) -> UnconfirmedPurge:
    """Delete sign-ups never confirmed within ``older_than_days`` days, and their IPs.

    Pending subscriptions signed up before the cutoff go, with the sign-up requests
    never used made before it and the ``signup_requested`` events of those requests
    (a person's confirmed history stays whole). Nobody confirmed is touched.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    asked_lately = select(SignupRequest.id).where(
        SignupRequest.subscriber_id == Subscription.subscriber_id,
        SignupRequest.list_id == Subscription.list_id,
        SignupRequest.created_at >= cutoff,
    )
    pending = (
        (Subscription.status == SubscriptionStatus.PENDING.value)
        & (Subscription.consented_at < cutoff)
        & ~asked_lately.exists()  # a request still young keeps its subscription to confirm
    )
    subscriptions = session.execute(delete(Subscription).where(pending))
    requests = session.execute(
        delete(SignupRequest).where(
            SignupRequest.confirmed_at.is_(None), SignupRequest.created_at < cutoff
        )
    )
    confirmed = select(Subscription.id).where(
        Subscription.subscriber_id == ConsentEvent.subscriber_id,
        Subscription.list_id == ConsentEvent.list_id,
        Subscription.status != SubscriptionStatus.PENDING.value,
    )
    events = session.execute(
        delete(ConsentEvent).where(
            ConsentEvent.event == ConsentEventKind.SIGNUP_REQUESTED.value,
            ConsentEvent.created_at < cutoff,
            ~confirmed.exists(),
        )
    )
    return UnconfirmedPurge(
        cutoff,
        int(getattr(subscriptions, "rowcount", 0)),
        int(getattr(requests, "rowcount", 0)),
        int(getattr(events, "rowcount", 0)),
    )
