"""The desk's figures: each list's counts and weekly growth, each edition's outcome.

Aggregates only, computed in SQL: counts by status (one ``GROUP BY``; no index of its
own: one on (list_id, status) misled the sending claim's plan), people who joined and
left in each of the last weeks (one pass with a ``CASE`` per week), and an edition's
outcome from its batches' counters (kept per status as rows move, so no ``GROUP BY``
over the ledger). Nothing
here names a person. Weeks start on Monday at midnight on the office's clock.
Services: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from dispatcher.models import Batch, Edition, Send
from dispatcher.office.reach import unsubscribes_after
from dispatcher.office.scheduling import DEFAULT_ZONE, zone_of
from dispatcher.sends.audience import KIND_DRY_RUN
from subscribers.models import MailingList, Subscription
from subscribers.orm import SubscriptionStatus

WEEKS = 8


@dataclass(frozen=True)
class Week:
    """One week of a list: who confirmed and who left in it."""

    start: dt.date  # the Monday, on the office's clock
    joined: int
    left: int


@dataclass(frozen=True)
class ListFigures:
    """A list's subscriptions by status now, and its last weeks."""

    mailing_list: MailingList
    confirmed: int
    pending: int
    unsubscribed: int
    bounced: int
    weeks: tuple[Week, ...]

    @property
    def joined(self) -> int:
        return sum(week.joined for week in self.weeks)

    @property
    def left(self) -> int:
        return sum(week.left for week in self.weeks)


@dataclass(frozen=True)
class EditionFigures:
    """What became of an edition's sends (dry runs left out) and who left after it."""

    edition_id: int
    number: int
    subject: str
    recipients: int  # ledger rows, the skipped ones included
    delivered: int  # accepted by the receiving server and not bounced since
    failed: int  # refused, or uncertain (the server's answer never came)
    bounced: int
    complaints: int
    skipped: int  # suppressed or gone by the time their turn came
    unsubscribes_after: int | None  # None: the edition has not gone out


def week_starts(now: dt.datetime, weeks: int = WEEKS) -> list[dt.datetime]:
    """The UTC instants the last ``weeks`` weeks start at, oldest first, and the next one."""
    zone = zone_of(DEFAULT_ZONE)
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    days = [monday - dt.timedelta(weeks=back) for back in range(weeks - 1, -2, -1)]
    return [dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC) for day in days]


def list_figures(session: Session, now: dt.datetime, weeks: int = WEEKS) -> list[ListFigures]:
    """Every list, by slug, with its counts and its last ``weeks`` weeks."""
    lists = session.scalars(select(MailingList).order_by(MailingList.slug)).all()
    counts = _counts(session)
    starts = week_starts(now, weeks)
    growth = _growth(session, starts)
    return [_figures(m, counts.get(m.id, {}), growth.get(m.id), starts) for m in lists]


def figures_of_list(session: Session, list_id: int, now: dt.datetime) -> ListFigures | None:
    """One list's figures (None if there is no such list)."""
    return next((f for f in list_figures(session, now) if f.mailing_list.id == list_id), None)


def _figures(
    mailing_list: MailingList,
    counts: dict[str, int],
    growth: dict[str, Any] | None,
    starts: list[dt.datetime],
) -> ListFigures:
    zone = zone_of(DEFAULT_ZONE)
    weeks = tuple(
        Week(
            start.astimezone(zone).date(),
            int(growth[f"j{i}"] or 0) if growth else 0,
            int(growth[f"l{i}"] or 0) if growth else 0,
        )
        for i, start in enumerate(starts[:-1])
    )
    return ListFigures(
        mailing_list,
        counts.get(SubscriptionStatus.CONFIRMED.value, 0),
        counts.get(SubscriptionStatus.PENDING.value, 0),
        counts.get(SubscriptionStatus.UNSUBSCRIBED.value, 0),
        counts.get(SubscriptionStatus.BOUNCED.value, 0),
        weeks,
    )


def _counts(session: Session) -> dict[int, dict[str, int]]:
    query = select(Subscription.list_id, Subscription.status, func.count()).group_by(
        Subscription.list_id, Subscription.status
    )
    found: dict[int, dict[str, int]] = {}
    for list_id, status, count in session.execute(query):
        found.setdefault(list_id, {})[status] = count
    return found


def _growth(session: Session, starts: list[dt.datetime]) -> dict[int, dict[str, Any]]:
    """``list id -> {"j0": joined in week 0, "l0": left in week 0, ...}``, in one pass."""
    columns = []
    for i, (start, end) in enumerate(zip(starts, starts[1:], strict=False)):
        joined = and_(Subscription.confirmed_at >= start, Subscription.confirmed_at < end)
        left = and_(Subscription.unsubscribed_at >= start, Subscription.unsubscribed_at < end)
        columns.append(func.sum(case((joined, 1), else_=0)).label(f"j{i}"))
        columns.append(func.sum(case((left, 1), else_=0)).label(f"l{i}"))
    since = starts[0]
    query = (
        select(Subscription.list_id, *columns)
        .where(or_(Subscription.confirmed_at >= since, Subscription.unsubscribed_at >= since))
        .group_by(Subscription.list_id)
    )
    return {row.list_id: dict(row._mapping) for row in session.execute(query)}


def edition_figures(session: Session, edition: Edition) -> EditionFigures | None:
    """The outcome of an edition's sends, or None if no send of it has started."""
    counters = (
        Batch.n_queued,
        Batch.n_sending,
        Batch.n_sent,
        Batch.n_deferred,
        Batch.n_failed,
        Batch.n_skipped,
        Batch.n_uncertain,
        Batch.n_bounced,
        Batch.n_complained,
    )
    started = session.scalar(
        select(func.count(Send.id)).where(
            Send.edition_id == edition.id, Send.kind != KIND_DRY_RUN, Send.started_at.is_not(None)
        )
    )
    if not started:
        return None
    row = session.execute(
        select(*(func.coalesce(func.sum(c), 0) for c in counters))
        .join(Send, Send.id == Batch.send_id)
        .where(Send.edition_id == edition.id, Send.kind != KIND_DRY_RUN)
    ).one()
    queued, sending, sent, deferred, failed, skipped, uncertain, bounced, complained = map(int, row)
    return EditionFigures(
        edition_id=edition.id,
        number=edition.number,
        subject=edition.subject,
        recipients=sum(map(int, row)),
        delivered=sent,
        failed=failed + uncertain,
        bounced=bounced,
        complaints=complained,
        skipped=skipped,
        unsubscribes_after=unsubscribes_after(session, edition),
    )


def recent_edition_figures(
    session: Session, list_id: int | None = None, limit: int = 6
) -> list[EditionFigures]:
    """The figures of the ``limit`` newest editions that went out, oldest first (for a chart)."""
    started = select(Send.id).where(
        Send.edition_id == Edition.id, Send.kind != KIND_DRY_RUN, Send.started_at.is_not(None)
    )
    query = select(Edition).where(started.exists())
    if list_id is not None:
        query = query.where(Edition.list_id == list_id)
    editions = session.scalars(query.order_by(Edition.id.desc()).limit(limit)).all()
    found = [edition_figures(session, edition) for edition in reversed(editions)]
    return [figures for figures in found if figures is not None]
