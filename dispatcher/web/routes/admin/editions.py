"""Editions in the browser: upload or edit the Markdown source, and each edition's page.

A wrong file is shown again with its error next to it: the message names the
file, line and field (:class:`~dispatcher.errors.EditionFileError`), and the lines
around the one at fault are shown with it highlighted.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatcher import preflight
from dispatcher.errors import EditionFileError, NewsletterError, StateError
from dispatcher.models import Edition, Send
from dispatcher.office import scheduling
from dispatcher.office.approvals import approval_of, edition_state
from dispatcher.office.edition_store import (
    add_edition,
    get_edition,
    newsletter_settings,
    subjects_of,
    update_edition,
)
from dispatcher.office.images import recent_images
from dispatcher.office.reach import reach_of
from dispatcher.office.users import audit
from dispatcher.preflight import PreflightReport
from dispatcher.sends.lookups import list_slugs, sends_of_edition
from dispatcher.web.routes.admin import common, figures
from dispatcher.web.routes.admin.common import editor, flash, page, problem, see_other, viewer
from dispatcher.web.state import DbSession, RowId, State, WebState
from subscribers.orm import utcnow
from subscribers.service import all_lists, get_list_by_id

MAX_SOURCE_BYTES = 1024 * 1024
# The form parser's limit for the text box: above the edition's limit, so that text
# pasted over 1 MB reaches read_source_field, which refuses it and shows it again
# (Starlette's own limit, 1 MB, refused the form and the text was lost).
MAX_TYPED_BYTES = 8 * MAX_SOURCE_BYTES
MAX_SOURCE_NAME = 300  # characters: the editions.source_name column
NEW_SOURCE_NAME = "edizione.md"
EXCERPT_LINES = 3  # shown on each side of the line at fault
PREFLIGHT_SECONDS = 300  # a report is reused this long for unchanged content
_PREFLIGHT_CACHE = "admin.preflight"


@dataclass(frozen=True)
class SourceForm:
    """The edition form as sent: an uploaded file, or the text typed in the textarea."""

    file: UploadFile | None
    typed: str


def _source_form(
    file: Annotated[UploadFile | None, File()] = None, source: Annotated[str, Form()] = ""
) -> SourceForm:
    return SourceForm(file, source)


Source = Annotated[SourceForm, Depends(_source_form)]


@dataclass(frozen=True)
class SendLine:
    """A send as the admin's tables show it (``admin/send_lines.html``)."""

    send: Send
    subject: str
    lists: tuple[str, ...]


@viewer.get("/editions/new")
def new_edition(request: Request) -> Response:
    return source_page(request, None, "", NEW_SOURCE_NAME)


@editor.post("/editions", form_limits={"max_part_size": MAX_TYPED_BYTES})
def upload_edition(request: Request, session: DbSession, state: State, form: Source) -> Response:
    def store(text: str, name: str) -> Response:
        edition = add_edition(session, text, name, state.settings)
        detail = {
            "number": edition.number,
            "source_name": name,
            "compiled_hash": edition.compiled_hash,
        }
        audit(session, common.actor(request), "edition.add", "edition", edition.id, **detail)
        flash(request, "flash.added", number=edition.number)
        return see_other(f"/admin/editions/{edition.id}")

    return store_source(request, session, form, None, store)


@viewer.get("/editions/{edition_id}")
def edition_view(request: Request, session: DbSession, state: State, edition_id: RowId) -> Response:
    return edition_page(request, session, state, edition_id)


@viewer.get("/editions/{edition_id}/source")
def edit_form(request: Request, session: DbSession, edition_id: RowId) -> Response:
    edition = get_edition(session, edition_id)
    return source_page(request, edition, edition.source, edition.source_name)


@editor.post("/editions/{edition_id}/source", form_limits={"max_part_size": MAX_TYPED_BYTES})
def save_source(
    request: Request, session: DbSession, state: State, edition_id: RowId, form: Source
) -> Response:
    edition = get_edition(session, edition_id)
    before = edition.compiled_hash

    def store(text: str, name: str) -> Response:
        scheduling.ensure_editable(session, edition_id)
        update_edition(session, edition_id, text, name, state.settings)
        detail = {
            "source_name": name,
            "previous_hash": before,
            "compiled_hash": edition.compiled_hash,
        }
        audit(session, common.actor(request), "edition.update", "edition", edition_id, **detail)
        changed = before != edition.compiled_hash
        saved = "flash.saved_unapproved" if changed and edition.approved_hash else "flash.saved"
        flash(request, saved)
        return see_other(f"/admin/editions/{edition_id}")

    return store_source(request, session, form, edition, store)


def store_source(
    request: Request,
    session: Session,
    form: SourceForm,
    edition: Edition | None,
    store: Callable[[str, str], Response],
) -> Response:
    """Read the form and ``store`` its text in a savepoint; a refusal shows the form again."""
    text, name = form.typed, edition.source_name if edition else NEW_SOURCE_NAME
    try:
        text, name = read_source_field(form.file, form.typed, name)
        with common.attempt(session):
            return store(text, name)
    except NewsletterError as exc:
        return source_page(request, edition, text, name, exc)
    except IntegrityError:  # update_edition does not check that the new number is free
        taken = StateError(f"{name}: another edition of this newsletter has that number")
        taken.coded("edition.number_in_use")
        return source_page(request, edition, text, name, taken)


def read_source_field(file: UploadFile | None, typed: str, default_name: str) -> tuple[str, str]:
    """The edition text from an uploaded file, else from the textarea.

    :raises EditionFileError: if it is empty, too big or not UTF-8
    """
    if file is None or not file.filename:
        if not typed.strip():
            empty = EditionFileError(default_name, None, None, "is empty: paste or upload a file")
            raise empty.coded("edition.empty")
        if len(typed.encode()) > MAX_SOURCE_BYTES:
            big = EditionFileError(default_name, None, None, "is larger than 1 MB (the text box)")
            raise big.coded("edition.too_large")
        return typed.replace("\r\n", "\n"), default_name  # browsers send CRLF
    name = file.filename.replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) > MAX_SOURCE_NAME:  # it is stored with the edition, in a column this wide
        problem = f"has a name longer than {MAX_SOURCE_NAME} characters: rename the file"
        error = EditionFileError(name[:60] + "…", None, None, problem)
        raise error.coded("edition.name_too_long", max=MAX_SOURCE_NAME)
    data = file.file.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise EditionFileError(name, None, None, "is larger than 1 MB").coded("edition.too_large")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n"), name
    except UnicodeDecodeError as exc:
        error = EditionFileError(name, None, None, "is not UTF-8 text")
        raise error.coded("edition.not_utf8") from exc


def source_page(
    request: Request,
    edition: Edition | None,
    source: str,
    source_name: str,
    error: Exception | None = None,
) -> Response:
    """The upload/edit form, with the error and the lines around it when there is one."""
    line = error.line if isinstance(error, EditionFileError) else None
    context = {
        "edition": edition,
        "source": source,
        "source_name": source_name,
        "problem": problem(error) if error else None,
        "error_line": line,
        "excerpt": excerpt(source, line) if line else [],
    }
    return page(request, "source.html", context, status_code=400 if error else 200)


def excerpt(source: str, line: int) -> list[tuple[int, str]]:
    """The numbered lines around ``line`` (1-based)."""
    lines = source.split("\n")
    first = max(1, line - EXCERPT_LINES)
    last = min(len(lines), line + EXCERPT_LINES)
    return [(number, lines[number - 1]) for number in range(first, last + 1)]


def edition_page(
    request: Request,
    session: Session,
    state: WebState,
    edition_id: int,
    error: Exception | None = None,
    **extra: Any,
) -> Response:
    """An edition's page: approval, preflight, proofs, schedule, sends and images."""
    edition = get_edition(session, edition_id)
    newsletter = get_list_by_id(session, edition.list_id)
    approval = approval_of(session, edition)
    context = {
        "edition": edition,
        "newsletter": newsletter,
        "approval": approval,
        "state": edition_state(session, edition, approval),
        "preflight": cached_preflight(session, state, edition, approval.current_hash),
        "sends": send_lines(session, sends_of_edition(session, edition_id)),
        "images": recent_images(session, edition_id),
        "reach": reach_of(session, edition) if newsletter_settings(newsletter).reach else None,
        "lists": all_lists(session),
        "proposed": scheduling.proposal(session, state.settings, newsletter, utcnow()),
        "require_approval": scheduling.approval_required(state.settings),
        "public_url": state.settings.public_url,
        "problem": problem(error) if error else None,
        **figures.edition_context(session, edition),
        **extra,
    }
    return page(request, "edition.html", context, status_code=409 if error else 200)


def cached_preflight(
    session: Session, state: WebState, edition: Edition, content_hash: str
) -> PreflightReport:
    """Preflight of the edition's current content, reused for a few minutes.

    Keyed by the approval hash, so any change to the content or the newsletter's
    settings gets a fresh report; the checks may run external programs.
    """
    cache: dict[str, tuple[float, PreflightReport]]
    cache = state.extras.setdefault(_PREFLIGHT_CACHE, {})  # type: ignore[assignment]
    hit = cache.get(content_hash)
    if hit is not None and time.monotonic() - hit[0] < PREFLIGHT_SECONDS:
        return hit[1]
    summary = preflight.run_preflight(session, edition.id, state.settings)
    if len(cache) > 64:
        cache.clear()
    cache[content_hash] = (time.monotonic(), summary)
    return summary


def send_lines(session: Session, sends: list[Send]) -> list[SendLine]:
    """The sends with their edition's subject and their lists, for the sends table."""
    subjects = subjects_of(session, {s.edition_id for s in sends})
    return [SendLine(s, subjects.get(s.edition_id, ""), list_slugs(session, s.id)) for s in sends]


def edition_shown(
    request: Request, session: Session, state: WebState, edition_id: int, **extra: Any
) -> Callable[[Exception], Response]:
    """What shows a refused form's error on the edition's page (for :func:`attempt_or_show`)."""
    return functools.partial(edition_page, request, session, state, edition_id, **extra)
