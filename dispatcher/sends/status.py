"""The send-status read model: what every surface shows of a send.

``dispatcher status``, the operators' console, the JSON API and ``/metrics`` all
read :class:`SendView` and :class:`FailureGroup` from here. Counts come from the
batches' counters (a SUM over a few thousand batch rows at most, by the
``(send_id, state)`` index), never from a GROUP BY over the ledger, so a look
answers in well under 100 ms during a million-message send.

The rate has two readings. A reader that looks again and again (the console, the
API, a scrape) passes its :class:`RateTracker` and gets the rate of a running
send over its last looks (the average since the start until looks accumulate). A
one-shot reader (the command line) has no earlier looks: it gets the messages of
batches finished in the last minute, or the average of a finished send.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.models import Batch, Edition, Send, SendState
from dispatcher.sends import ledger, progress
from dispatcher.sends.rates import RateTracker
from dispatcher.sends.sql import sql

#: Statuses of messages that got their answer (the live rate counts these).
SETTLED = ("sent", "failed", "uncertain", "bounced", "complained")
REMAINING = ("queued", "sending", "deferred")
#: Sends shown besides those not over yet.
RECENT_SENDS = 10
#: The one-shot rate counts the batches finished this many seconds ago at most.
RECENT_SECONDS = 60
#: Failures grouped for a look at most at this many rows of each kind (a GROUP BY over
#: all of a million-row send's failures would not answer in 100 ms).
FAILURE_SAMPLE = 5000
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")
#: The send's own columns that its view shows as they are.
_SEND_COLUMNS = (
    "edition_id", "kind", "parent_send_id", "state", "state_reason",
    "scheduled_at", "started_at", "finished_at", "hold_until",
)  # fmt: skip
_OPEN_STATES = (SendState.SCHEDULED.value, SendState.RUNNING.value, SendState.PAUSED.value)

# Failed and uncertain rows are found through the partial index of problems, deferred
# ones through that of active rows: one IN over all three would match neither index's
# predicate and scan the whole ledger. Each part is grouped here only by the exact reply;
# replies that differ only by the address they name are merged in Python, so no group
# may be cut off before that (a LIMIT here would drop most of a "550 <address> unknown").
_FAILED_ROWS = """
SELECT status, smtp_code, smtp_reply FROM deliveries
WHERE send_id = :send_id AND status IN ('failed', 'uncertain') {limit}"""
_DEFERRED_ROWS = """
SELECT status, smtp_code, smtp_reply FROM deliveries
WHERE send_id = :send_id AND status = 'deferred' {limit}"""
_GROUPED = """
SELECT status, smtp_code, smtp_reply, COUNT(*) AS n FROM (
  SELECT * FROM ({failed}) AS failed UNION ALL SELECT * FROM ({deferred}) AS deferred
) AS problems
GROUP BY status, smtp_code, smtp_reply
"""
_FAILURE_GROUPS = sql(
    _GROUPED.format(failed=_FAILED_ROWS.format(limit=""), deferred=_DEFERRED_ROWS.format(limit=""))
)
# The bounded version: at most :sample rows of each part, so a send with 200,000
# failures costs the same as one with 5,000. Exact totals per status come from the
# batches' counters.
_FAILURE_SAMPLE_GROUPS = sql(
    _GROUPED.format(
        failed=_FAILED_ROWS.format(limit="LIMIT :sample"),
        deferred=_DEFERRED_ROWS.format(limit="LIMIT :sample"),
    )
)


@dataclass(frozen=True)
class FailureGroup:
    """Failed, deferred or uncertain rows that got the same reply."""

    status: str
    code: int | None
    reply: str  # addresses replaced by <address>, so one reply groups many recipients
    count: int


@dataclass(frozen=True)
class BounceGroup:
    """Reports that came back for a send's messages with the same reason."""

    kind: str  # hard, soft, complaint, unsubscribe, notice (a delay: nothing changed)
    status_code: str | None  # the enhanced code, e.g. 5.1.1
    reason: str  # the diagnostic, addresses replaced by <address>, at most 200 characters
    count: int


# Driven from the bounce events (a few per thousand messages), each probing the ledger
# by its key, and bounded by the send's start: never a scan of the send's ledger.
_BOUNCE_ROWS = sql(
    """
SELECT b.kind, b.status_code, b.diagnostic FROM bounce_events AS b
JOIN deliveries AS d ON d.id = b.delivery_id
WHERE d.send_id = :send_id AND b.received_at >= :since
LIMIT :sample"""
)


@dataclass(frozen=True)
class SendView:
    """One send's progress as every surface shows it."""

    send_id: int
    edition_id: int
    subject: str
    kind: str  # normal, late, correction
    parent_send_id: int | None
    lists: tuple[str, ...]
    state: str
    state_reason: str
    scheduled_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    hold_until: dt.datetime | None
    counts: dict[str, int]  # ledger rows per status, from the batches' counters
    rate: float | None  # messages per second (see the module docstring)
    eta_seconds: float | None
    failures: tuple[FailureGroup, ...] = field(default=())
    bounces: tuple[BounceGroup, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def remaining(self) -> int:
        return sum(self.counts[s] for s in REMAINING)

    @property
    def settled(self) -> int:
        return sum(self.counts[s] for s in SETTLED)

    def to_dict(self) -> dict[str, object]:
        """The JSON form: times as ISO text in UTC, the rate to 0.01, the ETA to the second."""
        data = asdict(self)
        for name in ("scheduled_at", "started_at", "finished_at", "hold_until"):
            data[name] = iso(data[name])
        rounded_eta = None if self.eta_seconds is None else round(self.eta_seconds)
        data |= {"total": self.total, "remaining": self.remaining, "settled": self.settled}
        data |= {"rate": None if self.rate is None else round(self.rate, 2)}
        return data | {"eta_seconds": rounded_eta, "lists": list(self.lists)}


def send_views(
    session: Session,
    send_ids: list[int],
    now: dt.datetime,
    rates: RateTracker | None = None,
) -> list[SendView]:
    """The views of the given sends, in the given order (ids with no send are left out).

    :param rates: the looking reader's tracker; None for a one-shot look
    """
    if not send_ids:
        return []
    sends = {s.id: s for s in session.scalars(select(Send).where(Send.id.in_(send_ids)))}
    edition_ids = {s.edition_id for s in sends.values()}
    rows = session.execute(select(Edition.id, Edition.subject).where(Edition.id.in_(edition_ids)))
    subjects = {edition_id: subject for edition_id, subject in rows}
    counts = progress.counts_of(session, send_ids)
    lists = ledger.list_slugs(session, send_ids)
    views = []
    for send_id in (i for i in send_ids if i in sends):
        send = sends[send_id]
        rate = (
            _one_shot_rate(session, send, counts[send_id], now)
            if rates is None
            else _live_rate(send, counts[send_id], rates, now)
        )
        subject = subjects.get(send.edition_id, "")
        views.append(_view(send, subject, lists[send_id], counts[send_id], rate))
    return views


def send_view(
    session: Session,
    send_id: int,
    now: dt.datetime,
    failure_sample: int | None = FAILURE_SAMPLE,
) -> SendView:
    """One send, looked at once, with its failures grouped by reply.

    :param failure_sample: group at most this many failed rows; None: all of them
    :raises NotFoundError: if there is no such send
    """
    found = send_views(session, [send_id], now)
    if not found:
        raise NotFoundError(f"no send with id {send_id}")
    failures = failure_groups(session, send_id, sample=failure_sample)
    bounces = bounce_groups(session, send_id, sample=failure_sample or FAILURE_SAMPLE)
    return replace(found[0], failures=failures, bounces=bounces)


def watched_send_ids(session: Session, recent: int = RECENT_SENDS) -> list[int]:
    """Sends not yet over, then the latest ones, newest first (the sends table is small)."""
    latest = select(Send.id).order_by(Send.id.desc()).limit(recent).scalar_subquery()
    query = select(Send.id).where(or_(Send.state.in_(_OPEN_STATES), Send.id.in_(latest)))
    return list(session.scalars(query.order_by(Send.id.desc())))


def recent_send_ids(session: Session, limit: int = 10) -> list[int]:
    """The latest sends, newest first."""
    return list(session.scalars(select(Send.id).order_by(Send.id.desc()).limit(limit)))


def sends_per_state(session: Session) -> dict[str, int]:
    """How many sends are in each state (every state, zero included)."""
    rows = session.execute(select(Send.state, func.count()).group_by(Send.state))
    found = {state: count for state, count in rows}
    return {state.value: found.get(state.value, 0) for state in SendState}


def delivering_counts(session: Session) -> dict[int, dict[str, int]]:
    """Rows per status of each running or paused send."""
    watched = (SendState.RUNNING.value, SendState.PAUSED.value)
    send_ids = list(session.scalars(select(Send.id).where(Send.state.in_(watched))))
    return progress.counts_of(session, send_ids) if send_ids else {}


def failure_groups(
    session: Session, send_id: int, limit: int = 10, sample: int | None = None
) -> tuple[FailureGroup, ...]:
    """Failed, deferred and uncertain rows grouped by what the relay said.

    :param sample: group at most this many failed or uncertain rows, and as many
        deferred ones (a bounded look); None: all
    """
    merged: Counter[tuple[str, int | None, str]] = Counter()
    statement = _FAILURE_GROUPS if sample is None else _FAILURE_SAMPLE_GROUPS
    params = {"send_id": send_id, "sample": sample}
    for status, code, reply, count in session.execute(statement, params):
        merged[(status, code, _ADDRESS.sub("<address>", reply or ""))] += count
    return tuple(
        FailureGroup(status, code, reply, count)
        for (status, code, reply), count in merged.most_common(limit)
    )


def bounce_groups(
    session: Session, send_id: int, limit: int = 10, sample: int = FAILURE_SAMPLE
) -> tuple[BounceGroup, ...]:
    """What came back for the send's messages (bounces, complaints, delays), by reason.

    :param sample: group at most this many reports
    """
    send = session.get(Send, send_id)
    if send is None or send.started_at is None:
        return ()
    merged: Counter[tuple[str, str | None, str]] = Counter()
    params = {"send_id": send_id, "since": send.started_at, "sample": sample}
    for kind, code, diagnostic in session.execute(_BOUNCE_ROWS, params):
        reason = " ".join(_ADDRESS.sub("<address>", diagnostic or "").split())[:200]
        merged[(kind, code, reason)] += 1
    return tuple(
        BounceGroup(kind, code, reason, count)
        for (kind, code, reason), count in merged.most_common(limit)
    )


def iso(value: dt.datetime | None) -> str | None:
    """A stored time as ISO text in UTC, to the second (naive values are UTC)."""
    return None if value is None else _aware(value).isoformat(timespec="seconds")


def _view(
    send: Send, subject: str, lists: tuple[str, ...], counts: dict[str, int], rate: float | None
) -> SendView:
    remaining = sum(counts[s] for s in REMAINING)
    return SendView(
        send_id=send.id,
        subject=subject,
        lists=lists,
        counts=counts,
        rate=rate,
        eta_seconds=remaining / rate if rate and remaining else None,
        **{name: getattr(send, name) for name in _SEND_COLUMNS},
    )


def _live_rate(
    send: Send, counts: dict[str, int], rates: RateTracker, now: dt.datetime
) -> float | None:
    if send.state != SendState.RUNNING.value:
        return None
    settled = sum(counts[s] for s in SETTLED)
    recent = rates.observe(send.id, time.monotonic(), settled)
    if recent is not None or send.started_at is None:
        return recent
    elapsed = (now - _aware(send.started_at)).total_seconds()
    return settled / elapsed if elapsed > 0 else None  # the average, until looks accumulate


def _one_shot_rate(session: Session, send: Send, counts: dict[str, int], now: dt.datetime) -> float:
    if send.started_at is None:
        return 0.0
    settled = counts["sent"] + counts["failed"] + counts["uncertain"]
    if send.finished_at is not None:
        elapsed = (_aware(send.finished_at) - _aware(send.started_at)).total_seconds()
        return settled / elapsed if elapsed > 0 else float(settled)
    since = now - dt.timedelta(seconds=RECENT_SECONDS)
    recent = session.scalar(
        select(func.coalesce(func.sum(Batch.n_sent + Batch.n_failed), 0)).where(
            Batch.send_id == send.id, Batch.finished_at >= since
        )
    )
    elapsed = min(RECENT_SECONDS, (now - _aware(send.started_at)).total_seconds())
    return float(recent or 0) / elapsed if elapsed > 0 else 0.0


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
