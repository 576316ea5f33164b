"""Dry runs from the desk: the edition's real send path, into a folder, and its report.

The button on the edition's page starts a dry run (:mod:`dispatcher.sends.dryrun`) to
the newsletter's list, in a new folder under ``DRY_RUN_DIR``; like every page here it
never talks to the broker: the beat hands the batches to the workers within seconds.
The report page refreshes itself until the workers are done, then shows what was
written (by language, sizes) and who was left out and why, and writes the report's
files next to the messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from dispatcher.errors import NewsletterError
from dispatcher.office.edition_store import get_edition
from dispatcher.office.users import audit
from dispatcher.sends import dryrun
from dispatcher.web.routes.admin.common import (
    actor,
    attempt_or_show,
    editor,
    page,
    see_other,
    viewer,
)
from dispatcher.web.routes.admin.editions import edition_shown
from dispatcher.web.state import DbSession, RowId, State
from subscribers.orm import utcnow
from subscribers.service import get_list_by_id

REFRESH_SECONDS = 2


@editor.post("/editions/{edition_id}/dry-runs")
def start_dry_run(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    lists: Annotated[list[str] | None, Form()] = None,
) -> Response:
    def action() -> Response:
        edition = get_edition(session, edition_id)
        slugs = lists or [get_list_by_id(session, edition.list_id).slug]
        now = utcnow()
        folder = Path(state.settings.dry_run_dir) / f"edition-{edition_id}-{now:%Y%m%d-%H%M%S}"
        send, rows = dryrun.start_dry_run(
            session,
            edition_id,
            slugs,
            folder,
            now=now,
            batch_size=state.settings.sending.batch_size,
            actor=actor(request),
        )
        detail = {"edition_id": edition_id, "lists": slugs, "folder": str(folder), "rows": rows}
        audit(session, actor(request), "send.dry_run", "send", send.id, **detail)
        return see_other(f"/admin/dry-runs/{send.id}")

    shown = edition_shown(request, session, state, edition_id)
    return attempt_or_show(session, action, shown, NewsletterError)


@viewer.get("/dry-runs/{dry_run_id}")
def dry_run_page(request: Request, session: DbSession, dry_run_id: RowId) -> Response:
    report = dryrun.dry_run_report(session, dry_run_id)
    if report.done and not (Path(report.folder) / dryrun.REPORT_JSON).exists():
        dryrun.write_report(report)
    context = {
        "report": report,
        "edition": get_edition(session, report.edition_id),
        "largest": max((r.size or 0 for r in report.written), default=0),
        "refresh": None if report.done else REFRESH_SECONDS,
    }
    return page(request, "dry_run.html", context)
