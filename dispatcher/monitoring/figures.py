"""The console's figures: every send worth watching, with counts, rate and ETA.

Counts come from the batches' counters (a SUM over a few thousand batch rows
at most, by the ``(send_id, state)`` index), never from a GROUP BY over the
ledger; the rate comes from successive looks (:class:`RateTracker`) or, on the
first look, from the send's average since it started.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dispatcher.models import Batch, DeliveryStatus, Edition, Send, SendState
from dispatcher.monitoring.rates import RateTracker

RECENT_SENDS = 10
_STATUSES = [s.value for s in DeliveryStatus]
#: Statuses of messages that got their answer (the rate counts these).
SETTLED = ("sent", "failed", "uncertain", "bounced", "complained")
REMAINING = ("queued", "sending", "deferred")


@dataclass(frozen=True)
class SendFigures:
    """One send as the console shows it."""

    send_id: int
    edition_id: int
    subject: str
    kind: str
    parent_send_id: int | None
    state: str
    state_reason: str
    scheduled_at: str
    started_at: str | None
    finished_at: str | None
    counts: dict[str, int]
    total: int
    remaining: int
    settled: int
    rate: float | None  # messages per second, recently
    eta_seconds: float | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def watched_send_ids(session: Session, recent: int = RECENT_SENDS) -> list[int]:
    """Sends not yet over, then the latest ones, newest first (the sends table is small)."""
    open_states = (SendState.SCHEDULED.value, SendState.RUNNING.value, SendState.PAUSED.value)
    latest = select(Send.id).order_by(Send.id.desc()).limit(recent).scalar_subquery()
    query = select(Send.id).where(or_(Send.state.in_(open_states), Send.id.in_(latest)))
    return list(session.scalars(query.order_by(Send.id.desc())))


def batch_counts(session: Session, send_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows per status for each send, summed from its batches' counters."""
    columns = [func.coalesce(func.sum(getattr(Batch, f"n_{s}")), 0) for s in _STATUSES]
    rows = session.execute(
        select(Batch.send_id, *columns).where(Batch.send_id.in_(send_ids)).group_by(Batch.send_id)
    )
    found = {row[0]: dict(zip(_STATUSES, map(int, row[1:]), strict=True)) for row in rows}
    return {i: found.get(i, dict.fromkeys(_STATUSES, 0)) for i in send_ids}


def send_figures(
    session: Session, send_ids: list[int], rates: RateTracker, now: dt.datetime
) -> list[SendFigures]:
    """The figures of the given sends, in the given order."""
    if not send_ids:
        return []
    sends = {s.id: s for s in session.scalars(select(Send).where(Send.id.in_(send_ids)))}
    edition_ids = {s.edition_id for s in sends.values()}
    rows = session.execute(select(Edition.id, Edition.subject).where(Edition.id.in_(edition_ids)))
    subjects = {edition_id: subject for edition_id, subject in rows}
    counts = batch_counts(session, send_ids)
    return [
        _figures(sends[i], subjects.get(sends[i].edition_id, ""), counts[i], rates, now)
        for i in send_ids
        if i in sends
    ]


def _figures(
    send: Send, subject: str, counts: dict[str, int], rates: RateTracker, now: dt.datetime
) -> SendFigures:
    settled = sum(counts[s] for s in SETTLED)
    remaining = sum(counts[s] for s in REMAINING)
    rate = _rate(send, settled, rates, now)
    return SendFigures(
        send_id=send.id,
        edition_id=send.edition_id,
        subject=subject,
        kind=send.kind,
        parent_send_id=send.parent_send_id,
        state=send.state,
        state_reason=send.state_reason,
        scheduled_at=_iso(send.scheduled_at) or "",
        started_at=_iso(send.started_at),
        finished_at=_iso(send.finished_at),
        counts=counts,
        total=sum(counts.values()),
        remaining=remaining,
        settled=settled,
        rate=None if rate is None else round(rate, 2),
        eta_seconds=round(remaining / rate) if rate and remaining else None,
    )


def _rate(send: Send, settled: int, rates: RateTracker, now: dt.datetime) -> float | None:
    if send.state != SendState.RUNNING.value:
        return None
    recent = rates.observe(send.id, time.monotonic(), settled)
    if recent is not None or send.started_at is None:
        return recent
    elapsed = (now - _aware(send.started_at)).total_seconds()
    return settled / elapsed if elapsed > 0 else None  # the average, until looks accumulate


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat(timespec="seconds")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
