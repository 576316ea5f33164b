"""What a send looks like to the office and operators: counts, rate, ETA, failures."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.errors import NotFoundError
from dispatcher.models import Batch, Edition, Send, SendList
from dispatcher.sends import progress
from dispatcher.sends.sql import sql
from subscribers.models import MailingList

RECENT_SECONDS = 60
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")

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
    status: str
    code: int | None
    reply: str  # addresses replaced by <address>, so one reply groups many recipients
    count: int


@dataclass(frozen=True)
class SendStatus:
    """One send's progress, read from its batches' counts and the ledger."""

    send_id: int
    edition_id: int
    subject: str
    lists: tuple[str, ...]
    state: str
    state_reason: str
    scheduled_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    hold_until: dt.datetime | None
    counts: dict[str, int]
    rate: float  # messages settled per second, recently (or on average once finished)
    eta_seconds: float | None
    failures: tuple[FailureGroup, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def remaining(self) -> int:
        return sum(self.counts[s] for s in ("queued", "sending", "deferred"))


#: Failures grouped for a status look at most at this many rows (a GROUP BY over all
#: of a million-row send's failures would not answer in 100 ms).
STATUS_FAILURE_SAMPLE = 5000


def send_status(
    session: Session,
    send_id: int,
    now: dt.datetime,
    failure_sample: int | None = STATUS_FAILURE_SAMPLE,
) -> SendStatus:
    """:param failure_sample: group at most this many failed rows; None: all of them
    :raises NotFoundError: if there is no such send
    """
    send = session.get(Send, send_id)
    if send is None:
        raise NotFoundError(f"no send with id {send_id}")
    edition = session.get_one(Edition, send.edition_id)
    counts = progress.send_counts(session, send_id)
    rate = _rate(session, send, counts, now)
    remaining = sum(counts[s] for s in ("queued", "sending", "deferred"))
    return SendStatus(
        send_id=send.id,
        edition_id=edition.id,
        subject=edition.subject,
        lists=_list_slugs(session, send_id),
        state=send.state,
        state_reason=send.state_reason,
        scheduled_at=send.scheduled_at,
        started_at=send.started_at,
        finished_at=send.finished_at,
        hold_until=send.hold_until,
        counts=counts,
        rate=rate,
        eta_seconds=remaining / rate if rate > 0 and remaining else None,
        failures=failure_groups(session, send_id, sample=failure_sample),
    )


def recent_sends(session: Session, limit: int = 10) -> list[int]:
    return list(session.scalars(select(Send.id).order_by(Send.id.desc()).limit(limit)))


def failure_groups(
    session: Session, send_id: int, limit: int = 10, sample: int | None = None
) -> tuple[FailureGroup, ...]:
    """Failed, deferred and uncertain rows grouped by what the relay said.

    :param sample: group at most this many failed or uncertain rows, and as many
        deferred ones (the console's bounded look); None: all
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


def _rate(session: Session, send: Send, counts: dict[str, int], now: dt.datetime) -> float:
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


def _list_slugs(session: Session, send_id: int) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(MailingList.slug)
            .join(SendList, SendList.list_id == MailingList.id)
            .where(SendList.send_id == send_id)
            .order_by(MailingList.slug)
        )
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
