"""Importing a CSV file from the browser: upload, check how it was read, confirm, follow, report.

The same reading and rules as ``dispatcher subscribers import`` (:mod:`dispatcher.office.imports`
calls the CLI's import function). The import runs in the web process after the page that
started it is sent (a background task), so it needs no broker and works on the embedded
defaults too; its page polls the job's progress with ``/static/js/import_progress.js``.
Importing changes people's subscriptions and consent records: it is an admin's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from dispatcher.errors import InputError
from dispatcher.office import imports
from dispatcher.web.i18n import choose_language, translate
from dispatcher.web.routes.admin.common import (
    actor,
    administrator,
    attempt_or_show,
    flash,
    page,
    problem,
    see_other,
)
from dispatcher.web.state import DbSession, RowId, State
from subscribers.orm import utcnow
from subscribers.service import all_lists, get_list_by_id

ROWS_SHOWN = 500  # report lines on the page; the CSV has them all
REPORT_WORDS = (
    "skipped", "note", "no address", "invalid address", "duplicate", "unsubscribed", "bounced",
    "suppressed", "address", "name", "language",
)  # fmt: skip


@administrator.get("/import")
def import_page(request: Request, session: DbSession) -> Response:
    return _upload_form(request, session)


@administrator.post("/import")
def upload(
    request: Request,
    session: DbSession,
    file: Annotated[UploadFile | None, File()] = None,
    list_slug: Annotated[str, Form(max_length=64)] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    def action() -> Response:
        if file is None or not file.filename:
            raise InputError("choose a CSV file to import")
        data = file.file.read(imports.MAX_BYTES + 1)
        job = imports.upload(session, list_slug, file.filename, data, confirmed, actor(request))
        return see_other(f"/admin/import/{job.id}")

    def shown(error: Exception) -> Response:
        return _upload_form(request, session, error, list_slug)

    return attempt_or_show(session, action, shown)


@administrator.get("/import/{job_id}")
def job_page(request: Request, session: DbSession, job_id: RowId) -> Response:
    job = imports.get_job(session, job_id)
    rows = imports.report_rows(job)
    context = {
        "job": job,
        "target": get_list_by_id(session, job.list_id),
        "stalled": imports.is_stalled(job, utcnow()),
        "rows": rows[:ROWS_SHOWN],
        "more_rows": max(len(rows) - ROWS_SHOWN, 0),
        "records": max(job.lines - 1, 1),
    }
    return page(request, "import_job.html", context)


@administrator.post("/import/{job_id}/start")
def start(
    request: Request, session: DbSession, state: State, job_id: RowId, tasks: BackgroundTasks
) -> Response:
    """Start the import; it runs once this request's transaction has committed."""
    job = imports.start(session, job_id, actor(request))
    tasks.add_task(imports.run_import, state.sessions, job.id, state.settings.all_secret_keys)
    flash(request, "flash.import_started")
    return see_other(f"/admin/import/{job_id}")


@administrator.post("/import/{job_id}/cancel")
def cancel(request: Request, session: DbSession, job_id: RowId) -> Response:
    imports.cancel(session, job_id, actor(request))
    flash(request, "flash.import_cancelled")
    return see_other("/admin/import")


@administrator.get("/import/{job_id}/progress")
def progress(session: DbSession, job_id: RowId) -> JSONResponse:
    job = imports.get_job(session, job_id)
    body = {"state": job.state, "done": job.done, "total": max(job.lines - 1, 1)}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@administrator.get("/import/{job_id}/report.csv")
def report(request: Request, session: DbSession, job_id: RowId) -> Response:
    job = imports.get_job(session, job_id)
    language = choose_language(request)
    header = [translate(language, f"import.csv.{c}") for c in ("line", "kind", "reason", "detail")]
    labels = {word: translate(language, f"import.word.{word}") for word in REPORT_WORDS}
    headers = {
        "Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"',
        "Cache-Control": "no-store",
    }
    body = imports.report_csv(job, header, labels)
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _upload_form(
    request: Request, session: Session, error: Exception | None = None, chosen: str = ""
) -> Response:
    context = {
        "lists": all_lists(session),
        "jobs": imports.recent_jobs(session),
        "chosen": chosen,
        "max_mb": imports.MAX_BYTES // 2**20,
        "problem": problem(error) if error else None,
    }
    return page(request, "import.html", context, status_code=400 if error else 200)
