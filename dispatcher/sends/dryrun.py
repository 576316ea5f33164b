"""A dry run: the whole send path, into a folder, reaching nobody.

A dry run is a send of kind ``dry_run`` (:data:`~dispatcher.sends.audience.KIND_DRY_RUN`)
whose ``outbox_dir`` names a folder. It goes through everything a real send does: the
audience rule writes its ledger, the batches go to the real workers, each message is
built and filled as it would be for the person. Three things keep it dry:

- the workers give its batches an outbox in its folder instead of the production
  transport (:meth:`~dispatcher.sends.runtime.Runtime.transport_for`), one
  ``<delivery id>.eml`` per recipient;
- that outbox never counts as delivery, so every row ends ``skipped``: nobody has
  "received" the edition, and the real send afterwards reaches everyone;
- a dry run is never a send of the edition for the "already sent" guard
  (:func:`~dispatcher.sends.audience.refuse_repeat`) nor a prior send for the
  audience rule.

The report (:func:`dry_run_report`) is read back from the ledger and the folder:
the messages written with their sizes, by language, and who was left out and why.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.editions.variants import ITALIAN
from dispatcher.errors import NotFoundError, StateError
from dispatcher.models import Delivery, Send, SendState
from dispatcher.sends import audience, ledger
from subscribers.models import Subscriber

REPORT_JSON = "report.json"
REPORT_TEXT = "report.txt"
#: The states in which a dry run has nothing more to write.
DONE_STATES = (SendState.FINISHED.value, SendState.CANCELLED.value, SendState.PAUSED.value)


def start_dry_run(
    session: Session,
    edition_id: int,
    list_slugs: Sequence[str],
    folder: Path,
    *,
    now: dt.datetime,
    batch_size: int,
    actor: str = "",
) -> tuple[Send, int]:
    """Create a dry run of ``edition_id`` to ``list_slugs`` into ``folder`` and start it.

    It starts in the same transaction, so the scheduler never sees it waiting (and no
    approval is asked: it sends nothing). The caller enqueues its first batches.

    :returns: the send and how many ledger rows it wrote
    :raises NotFoundError: if the edition or a list does not exist
    """
    send = ledger.create_send(
        session, edition_id, list_slugs, now, kind=audience.KIND_DRY_RUN, created_by=actor
    )
    send.outbox_dir = str(folder.resolve())
    session.flush()
    rows = ledger.start_send(session, send.id, now, batch_size)
    return send, rows or 0


@dataclass(frozen=True)
class Recipient:
    """One row of a dry run: a message written, or a person left out and why."""

    delivery_id: int
    email: str
    language: str
    file: str | None = None
    size: int | None = None
    reason: str | None = None
    # The edition variant its message holds (language and sections, see
    # dispatcher/editions/variants.py); "it": the whole edition in Italian.
    variant: str = ITALIAN


@dataclass
class DryRunReport:
    """What a dry run wrote and whom it left out."""

    send_id: int
    edition_id: int
    folder: str
    state: str
    written: list[Recipient] = field(default_factory=list)
    skipped: list[Recipient] = field(default_factory=list)
    pending: int = 0  # rows the workers have not written yet

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def by_language(self) -> dict[str, int]:
        return dict(sorted(Counter(r.language for r in self.written).items()))

    @property
    def by_variant(self) -> dict[str, int]:
        """Messages written per edition variant (language, sections)."""
        return dict(sorted(Counter(r.variant for r in self.written).items()))

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(r.reason or "" for r in self.skipped).items()))

    @property
    def total_bytes(self) -> int:
        return sum(r.size or 0 for r in self.written)

    def as_dict(self) -> dict[str, object]:
        """The report as report.json holds it."""
        sizes = [r.size or 0 for r in self.written]
        return {
            "send_id": self.send_id,
            "edition_id": self.edition_id,
            "folder": self.folder,
            "state": self.state,
            "written": len(self.written),
            "skipped": len(self.skipped),
            "pending": self.pending,
            "by_language": self.by_language,
            "by_variant": self.by_variant,
            "skipped_by_reason": self.skipped_by_reason,
            "bytes": {
                "total": sum(sizes),
                "smallest": min(sizes, default=0),
                "largest": max(sizes, default=0),
            },
            "messages": [asdict(r) for r in self.written],
            "left_out": [asdict(r) for r in self.skipped],
        }

    def summary(self) -> str:
        """A few lines for a person: counts, languages, sizes, who was left out and why."""
        lines = [
            f"dry run {self.send_id} of edition {self.edition_id} ({self.state}): "
            f"{len(self.written)} messages written to {self.folder}, "
            f"{len(self.skipped)} left out, {self.pending} still to write",
        ]
        languages = ", ".join(f"{lang}: {n}" for lang, n in self.by_language.items())
        lines.append(f"by language: {languages or '-'}")
        variants = ", ".join(f"{key}: {n}" for key, n in self.by_variant.items())
        lines.append(f"by edition variant: {variants or '-'}")
        if self.written:
            largest = max(r.size or 0 for r in self.written)
            lines.append(f"size: {self.total_bytes} bytes in all, largest {largest}")
        lines.extend(f"left out, {reason}: {n}" for reason, n in self.skipped_by_reason.items())
        lines.extend(f"  {r.email}: {r.reason}" for r in self.skipped)
        return "\n".join(lines) + "\n"


def dry_run_report(session: Session, send_id: int) -> DryRunReport:
    """Read a dry run's report from its ledger and its folder.

    A row with a file in the folder is a message written; a row settled otherwise is
    a person left out, with the ledger's reason; a row still queued is pending.

    :raises NotFoundError: if there is no such send
    :raises StateError: if the send is not a dry run
    """
    send = session.get(Send, send_id)
    if send is None:
        raise NotFoundError(f"no send with id {send_id}")
    if send.kind != audience.KIND_DRY_RUN or not send.outbox_dir:
        raise StateError(f"send {send_id} is not a dry run")
    folder = Path(send.outbox_dir)
    report = DryRunReport(send.id, send.edition_id, str(folder), send.state)
    rows = session.execute(
        select(Delivery.id, Delivery.status, Delivery.smtp_reply, Subscriber.email)
        .add_columns(Subscriber.language, Delivery.variant)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.send_id == send_id)
        .order_by(Delivery.id)
    )
    for delivery_id, status, reply, email, language, variant in rows:
        who = Recipient(delivery_id, email, language, variant=variant or ITALIAN)
        _add_row(report, folder, who, status, reply)
    return report


def _add_row(
    report: DryRunReport, folder: Path, who: Recipient, status: str, reply: str | None
) -> None:
    path = folder / f"{who.delivery_id}.eml"
    if path.is_file():
        report.written.append(replace(who, file=path.name, size=path.stat().st_size))
    elif status in ("queued", "sending", "deferred"):
        report.pending += 1
    else:
        report.skipped.append(replace(who, reason=reply or status))


def write_report(report: DryRunReport) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.txt`` into the dry run's folder."""
    folder = Path(report.folder)
    folder.mkdir(parents=True, exist_ok=True)
    as_json, as_text = folder / REPORT_JSON, folder / REPORT_TEXT
    as_json.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    as_text.write_text(report.summary())
    return as_json, as_text
