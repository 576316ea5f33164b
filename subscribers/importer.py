"""CSV import of subscribers into a list (set-based: one query per chunk, not per row)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from subscribers.errors import ImportFileError
from subscribers.models import Subscriber, Subscription
from subscribers.orm import ConsentSource, SubscriptionStatus, utcnow
from subscribers.service import get_list

CHUNK = 1000


@dataclass
class ImportReport:
    """What an import did, with the file's line numbers for every row it skipped."""

    imported: int = 0
    updated: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


def import_csv(
    session: Session, path: Path, list_slug: str, *, confirmed: bool = False
) -> ImportReport:
    """Subscribe the people in a CSV file (columns ``email`` and ``name``) to a list.

    :raises ImportFileError: if the file cannot be read or has no email column
    :raises UnknownListError: if the list does not exist
    """
    mailing_list = get_list(session, list_slug)
    report = ImportReport()
    rows = _read(path, report)
    status = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
    for start in range(0, len(rows), CHUNK):
        _upsert(session, mailing_list.id, rows[start : start + CHUNK], status, report)
    return report


def _read(path: Path, report: ImportReport) -> list[tuple[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "email" not in reader.fieldnames:
                raise ImportFileError(f"{path}:1: no 'email' column in the header")
            return _valid_rows(reader, report)
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{path}: cannot be read: {exc}") from exc


def _valid_rows(reader: csv.DictReader[str], report: ImportReport) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        raw = (row.get("email") or "").strip()
        try:
            email = validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            report.skipped.append((line, f"invalid address {raw!r}: {exc}"))
            continue
        seen.setdefault(email.lower(), (row.get("name") or "").strip())
    return list(seen.items())


def _upsert(
    session: Session,
    list_id: int,
    rows: list[tuple[str, str]],
    status: SubscriptionStatus,
    report: ImportReport,
) -> None:
    emails = [email for email, _ in rows]
    existing: dict[str, int] = dict(
        session.execute(
            select(func.lower(Subscriber.email), Subscriber.id).where(
                func.lower(Subscriber.email).in_(emails)
            )
        ).all()
    )
    new = [Subscriber(email=email, name=name) for email, name in rows if email not in existing]
    session.add_all(new)
    session.flush()
    existing |= {s.email: s.id for s in new}
    report.imported += len(new)
    report.updated += len(rows) - len(new)
    subscribed = set(
        session.scalars(
            select(Subscription.subscriber_id).where(
                Subscription.list_id == list_id,
                Subscription.subscriber_id.in_(list(existing.values())),
            )
        )
    )
    now = utcnow()
    session.add_all(
        Subscription(
            list_id=list_id,
            subscriber_id=subscriber_id,
            status=status.value,
            source=ConsentSource.IMPORT.value,
            confirmed_at=now if status is SubscriptionStatus.CONFIRMED else None,
        )
        for subscriber_id in existing.values()
        if subscriber_id not in subscribed
    )
    session.flush()
