"""Imports started in the browser: the same reading and rules as ``dispatcher subscribers import``.

An upload is read at once (:func:`subscribers.csvfile.stream_csv`: encoding, delimiter,
which column is what) and kept in an ``import_jobs`` row, so the admin sees how the
file was understood before anything is imported. Confirmed, :func:`run_import` imports
it with :func:`subscribers.importer.import_records`, the CLI's own function, in one
transaction: a file that turns out not to be CSV half-way (a stray quote) imports
nothing. After each chunk the number of records done is written to the job row in a
short transaction of its own, which the job's page polls; on SQLite, where the import
holds the one write lock, the count is written at the end only. The file's bytes are
dropped when the import ends; the counts and the lines left out, with their reasons,
stay for the report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.db import get_row
from dispatcher.errors import NewsletterError, StateError
from dispatcher.models import ImportJob, ImportState
from dispatcher.office.users import audit
from subscribers.csvfile import guard_cell, stream_csv
from subscribers.errors import ImportFileError
from subscribers.importer import ImportReport, import_records
from subscribers.orm import utcnow
from subscribers.service import get_list, get_list_by_id

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024  # far above any office's list; the job row holds it until imported
#: A job still running with no progress for this long was stopped (the process ended):
#: its transaction was rolled back, so nothing of it was imported.
STALLED_AFTER = dt.timedelta(minutes=15)
JOBS_SHOWN = 20
#: An upload not confirmed within this long is dropped: the file holds personal data.
UNCONFIRMED_KEPT = dt.timedelta(days=1)


@dataclass(frozen=True)
class ReportRow:
    """One line of the file the import left out (``skipped``) or took in part (``note``)."""

    line: int
    kind: str  # "skipped" or "note"
    reason: str  # SkipReason's value, or the field a note is about
    detail: str


def upload(
    session: Session, list_slug: str, filename: str, data: bytes, confirmed: bool, actor: str
) -> ImportJob:
    """Read an uploaded CSV file's layout and keep it, ready to import into a list.

    :raises UnknownListError: if the list does not exist
    :raises ImportFileError: if the file is too large, not text, not CSV or has no email column
    """
    mailing_list = get_list(session, list_slug)
    name = PurePath(filename.replace("\\", "/")).name[:200] or "import.csv"
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"{name}: the file is larger than {MAX_BYTES // 2**20} MB")
    stream = stream_csv(lambda: io.BytesIO(data), Path(name))
    job = ImportJob(
        list_id=mailing_list.id,
        filename=name,
        state=ImportState.READY.value,
        confirmed=confirmed,
        data=data,
        size=len(data),
        encoding=stream.encoding,
        delimiter=stream.delimiter,
        columns={str(found): header for found, header in stream.columns.items()},
        ignored={"columns": list(stream.ignored)},
        lines=stream.lines - (1 if data.rstrip(b"\x00").endswith(b"\n") else 0),  # no last ""
        created_by=actor,
    )
    session.add(job)
    session.flush()
    audit(session, actor, "import.upload", "import", job.id, list=list_slug, file=name)
    _drop_unconfirmed(session, utcnow() - UNCONFIRMED_KEPT)
    return job


def cancel(session: Session, job_id: int, actor: str) -> None:
    """Drop an upload that was not imported, with its file.

    :raises StateError: if the import was already started
    """
    job = get_job(session, job_id)
    if job.state != ImportState.READY.value:
        raise StateError(f"import {job_id} was already started")
    job.state, job.data, job.error = ImportState.FAILED.value, None, "cancelled: nothing imported"
    job.updated_at = job.finished_at = utcnow()
    audit(session, actor, "import.cancel", "import", job_id)


def _drop_unconfirmed(session: Session, before: dt.datetime) -> None:
    """Forget the files of uploads left unconfirmed since ``before``."""
    session.execute(
        update(ImportJob)
        .where(ImportJob.state == ImportState.READY.value, ImportJob.created_at < before)
        .values(state=ImportState.FAILED.value, data=None, error="not confirmed: dropped")
    )


def get_job(session: Session, job_id: int) -> ImportJob:
    """:raises NotFoundError: if there is no such import"""
    return get_row(session, ImportJob, job_id, "import")


def recent_jobs(session: Session, limit: int = JOBS_SHOWN) -> list[ImportJob]:
    return list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def start(session: Session, job_id: int, actor: str) -> ImportJob:
    """Mark a job confirmed and running; the caller then runs :func:`run_import` after commit.

    :raises StateError: if the job is not waiting for its confirmation
    """
    job = get_job(session, job_id)
    if job.state != ImportState.READY.value:
        raise StateError(f"import {job_id} was already started")
    job.state, job.updated_at = ImportState.RUNNING.value, utcnow()
    audit(session, actor, "import.start", "import", job_id, confirmed=job.confirmed)
    return job


def is_stalled(job: ImportJob, now: dt.datetime) -> bool:
    """Whether a running job stopped without finishing (see :data:`STALLED_AFTER`)."""
    updated = job.updated_at if job.updated_at.tzinfo else job.updated_at.replace(tzinfo=dt.UTC)
    return job.state == ImportState.RUNNING.value and now - updated > STALLED_AFTER


def run_import(sessions: sessionmaker[Session], job_id: int, keys: Sequence[str]) -> None:
    """Import a started job's file; the job row ends ``done`` with its report, or ``failed``.

    Never raises for the file's or the data's faults: they are the job's outcome.
    """
    with sessions() as session:
        job = get_job(session, job_id)
        if job.state != ImportState.RUNNING.value or job.data is None:
            return
        data, name, list_id, confirmed = job.data, job.filename, job.list_id, job.confirmed
        actor = job.created_by
        live = session.get_bind().dialect.name != "sqlite"
    try:
        with sessions.begin() as session:
            slug = get_list_by_id(session, list_id).slug
            source = stream_csv(lambda: io.BytesIO(data), Path(name))
            progress = _Progress(sessions, job_id) if live else None
            hook = progress.add if progress else None
            report = import_records(
                session, source, slug, keys=keys, confirmed=confirmed, progress=hook
            )
            _finish(session, job_id, report, actor)
    except NewsletterError as exc:
        _fail(sessions, job_id, str(exc), actor)
    except Exception:
        log.exception("import %s failed", job_id)
        _fail(sessions, job_id, "unexpected error: nothing was imported", actor)


@dataclass
class _Progress:
    """Writes the records done after each chunk, each time in a transaction of its own."""

    sessions: sessionmaker[Session]
    job_id: int
    done: int = 0

    def add(self, records: int) -> None:
        self.done += records
        with self.sessions.begin() as session:
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == self.job_id)
                .values(done=self.done, updated_at=utcnow())
            )


def _finish(session: Session, job_id: int, report: ImportReport, actor: str) -> None:
    rows = [[note.line, "skipped", str(note.reason), note.detail] for note in report.skipped]
    rows += [[note.line, "note", str(note.reason), note.detail] for note in report.notes]
    rows.sort(key=lambda row: (row[0], row[1] != "skipped"))
    handled = len(report.imported) + len(report.updated) + len(report.skipped)
    now = utcnow()
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(
            state=ImportState.DONE.value,
            data=None,
            done=handled,
            imported=len(report.imported),
            updated=len(report.updated),
            skipped=len(report.skipped),
            report={"rows": rows},
            updated_at=now,
            finished_at=now,
        )
    )
    counts = {"imported": len(report.imported), "skipped": len(report.skipped)}
    audit(session, actor, "import.done", "import", job_id, updated=len(report.updated), **counts)


def _fail(sessions: sessionmaker[Session], job_id: int, reason: str, actor: str) -> None:
    now = utcnow()
    with sessions.begin() as session:
        values: dict[str, Any] = {"state": ImportState.FAILED.value, "data": None, "error": reason}
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(**values, updated_at=now, finished_at=now)
        )
        audit(session, actor, "import.failed", "import", job_id, reason=reason[:500])


def report_rows(job: ImportJob) -> list[ReportRow]:
    """The job's report: each line left out or taken in part, in the file's order."""
    rows = job.report.get("rows", [])
    return [ReportRow(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def report_csv(job: ImportJob, header: Sequence[str], labels: dict[str, str]) -> str:
    """The report as CSV for a spreadsheet: semicolons, cells safe from formula injection.

    :param header: the column titles, in the reader's language
    :param labels: words for the kinds and reasons, in the reader's language
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in report_rows(job):
        words = (labels.get(row.kind, row.kind), labels.get(row.reason, row.reason))
        writer.writerow([row.line, *map(guard_cell, (*words, row.detail))])
    return "\ufeff" + out.getvalue()  # the BOM: Excel then reads UTF-8
