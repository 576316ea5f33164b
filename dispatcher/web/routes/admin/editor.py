"""The edition form: the front matter as fields, each article as Markdown with a toolbar.

The form writes the same edition file the source page edits
(:mod:`~dispatcher.web.routes.admin.editor_draft`), and saves it through the edition
store like an upload, so approvals stay bound to the compiled content. While the
editor types, ``/admin/editor/preview`` compiles the form's edition and answers the
filled HTML, which ``editor.js`` shows in two sandboxed frames; without JavaScript
the form still saves, and the edition's preview page shows the saved edition.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatcher.editions.parse import parse_edition
from dispatcher.errors import ContentError, EditionFileError, NewsletterError, StateError
from dispatcher.models import Edition
from dispatcher.office import scheduling
from dispatcher.office.edition_store import (
    add_edition,
    compile_for,
    get_edition,
    newest_editions,
    update_edition,
)
from dispatcher.office.images import public_path, recent_images
from dispatcher.office.users import audit
from dispatcher.sends.compose import preview
from dispatcher.web.i18n import choose_language, translate
from dispatcher.web.routes.admin import common
from dispatcher.web.routes.admin.common import editor, flash, page, see_other, viewer
from dispatcher.web.routes.admin.editor_draft import (
    EditionDraft,
    FieldError,
    draft_from_form,
    draft_of,
    form_problems,
    mismatch,
    write_source,
)
from dispatcher.web.routes.admin.editor_problems import field_error
from dispatcher.web.routes.admin.editor_start import next_draft
from dispatcher.web.state import DbSession, RowId, State, WebState
from subscribers.service import get_list_by_id, newsletter_lists

MAX_FIELD_BYTES = 2 * 1024 * 1024  # an article's text; the whole edition is checked at 1 MB
MAX_SOURCE_BYTES = 1024 * 1024


async def _form_fields(request: Request) -> dict[str, str]:
    form = await request.form(max_part_size=MAX_FIELD_BYTES)
    return {name: value for name, value in form.items() if isinstance(value, str)}


Fields = Annotated[dict[str, str], Depends(_form_fields)]


def field_id(name: str) -> str:
    """The HTML id of the form field ``name`` (``cover.image_alt`` -> ``f-cover-image_alt``)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


@viewer.get("/editions/{edition_id}/form")
def edit_page(request: Request, session: DbSession, state: State, edition_id: RowId) -> Response:
    edition = get_edition(session, edition_id)
    draft = draft_of(parse_edition(edition.source, edition.source_name))
    return form_page(request, session, state, draft, edition=edition)


@viewer.get("/editions/{edition_id}/next")
def next_page(request: Request, session: DbSession, state: State, edition_id: RowId) -> Response:
    previous = get_edition(session, edition_id)
    draft = next_draft(session, state.settings, previous)
    return form_page(request, session, state, draft, previous=previous)


@viewer.get("/editor/start")
def start_page(request: Request, session: DbSession) -> Response:
    """The newest edition of each newsletter, to start the next one from."""
    rows = newest_editions(session)
    return page(request, "editor_start.html", {"rows": rows})


@editor.post("/editions/{edition_id}/form")
def save_form(
    request: Request, session: DbSession, state: State, edition_id: RowId, fields: Fields
) -> Response:
    edition = get_edition(session, edition_id)
    draft = draft_from_form({**fields, "newsletter": _slug_of(session, edition.list_id)})
    before = edition.compiled_hash
    try:
        text = checked_source(draft)
        with common.attempt(session):
            scheduling.ensure_editable(session, edition_id)
            update_edition(session, edition_id, text, edition.source_name, state.settings)
    except FormRefusedError as refused:
        return form_page(request, session, state, draft, edition=edition, errors=refused.errors)
    except IntegrityError:  # update_edition does not check that a new number is free
        errors = [FieldError("number", "editor.number_taken")]
        return form_page(request, session, state, draft, edition=edition, errors=errors)
    except NewsletterError as exc:
        return form_page(request, session, state, draft, edition=edition, problem=exc)
    detail = {"source_name": edition.source_name, "previous_hash": before, "via": "form"}
    detail["compiled_hash"] = edition.compiled_hash
    audit(session, common.actor(request), "edition.update", "edition", edition_id, **detail)
    changed = before != edition.compiled_hash
    flash(request, "flash.saved_unapproved" if changed and edition.approved_hash else "flash.saved")
    return see_other(f"/admin/editions/{edition_id}")


@editor.post("/editions/{edition_id}/next")
def create_next(
    request: Request, session: DbSession, state: State, edition_id: RowId, fields: Fields
) -> Response:
    previous = get_edition(session, edition_id)
    slug = _slug_of(session, previous.list_id)
    draft = draft_from_form({**fields, "newsletter": slug})
    name = f"{slug}-{draft.number}.md"[:300]
    try:
        text = checked_source(draft)
        with common.attempt(session):
            created = add_edition(session, text, name, state.settings)
    except FormRefusedError as refused:
        return form_page(request, session, state, draft, previous=previous, errors=refused.errors)
    except StateError:  # the number is taken
        errors = [FieldError("number", "editor.number_taken")]
        return form_page(request, session, state, draft, previous=previous, errors=errors)
    except NewsletterError as exc:
        return form_page(request, session, state, draft, previous=previous, problem=exc)
    detail = {"number": created.number, "source_name": name, "via": "form"}
    detail["compiled_hash"] = created.compiled_hash
    audit(session, common.actor(request), "edition.add", "edition", created.id, **detail)
    flash(request, "flash.added", number=created.number)
    return see_other(f"/admin/editions/{created.id}")


@viewer.post("/editor/preview")
def live_preview(request: Request, session: DbSession, state: State, fields: Fields) -> Response:
    """The form's edition filled for the sample recipient, or the first thing to fix."""
    draft = draft_from_form(fields)
    mailing_list = next((m for m in newsletter_lists(session) if m.slug == draft.newsletter), None)
    language = choose_language(request)
    try:
        if mailing_list is None:
            raise StateError(f"no newsletter {draft.newsletter!r}")
        content = parse_edition(checked_source(draft), "edizione.md")
        compiled = compile_for(content, mailing_list, state.settings)
    except FormRefusedError as refused:
        return JSONResponse({"errors": [_shown(e, draft, language) for e in refused.errors]})
    except NewsletterError:
        # Not an error page: the script says the preview is unavailable and keeps the last one.
        return JSONResponse({"errors": [], "failed": True})
    unsaved = Edition(
        list_id=mailing_list.id,
        subject=content.subject,
        html=compiled.html,
        text=compiled.text,
        compiled_hash=compiled.compiled_hash,
    )
    shown = preview(session, unsaved, state.settings, state.signer)
    headers = {"Cache-Control": "no-store"}
    return JSONResponse({"html": shown.html, "text": shown.text, "errors": []}, headers=headers)


class FormRefusedError(ContentError):
    """The form's values cannot make an edition file yet: the problems, at their fields."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("the edition form has errors")
        self.errors = errors


def checked_source(draft: EditionDraft) -> str:
    """The edition file of ``draft``, read back by the parser to the same values.

    :raises FormRefusedError: with the problems at their fields
    """
    problems = form_problems(draft)
    if problems:
        raise FormRefusedError(problems)
    written = write_source(draft)
    if len(written.text.encode()) > MAX_SOURCE_BYTES:
        raise FormRefusedError(
            [FieldError("articles[1].body", "editor.p.other", None, {"a": "> 1 MB"})]
        )
    try:
        parsed = parse_edition(written.text, "edizione.md")
    except EditionFileError as exc:
        raise FormRefusedError([field_error(exc, draft, written)]) from exc
    misread = mismatch(draft, parsed)
    if misread is not None:
        raise FormRefusedError([misread])
    return written.text


_ROW_FIELD = re.compile(r"(highlight|article)s\[(\d+)\]\.(\w+)")


def field_label(name: str, draft: EditionDraft) -> list[tuple[str, dict[str, Any]]]:
    """The text keys naming a form field: ``In evidenza 2 · Titolo``, ``Copertina · Link``."""
    found = _ROW_FIELD.fullmatch(name)
    if found:
        rows = draft.highlights if found[1] == "highlight" else draft.articles
        keys = [row.key for row in rows]
        place = keys.index(int(found[2])) + 1 if int(found[2]) in keys else int(found[2])
        return [(f"editor.{found[1]}", {"n": place}), (f"editor.{found[1]}.{found[3]}", {})]
    if name.startswith("cover."):
        return [("editor.cover", {}), (f"editor.{name}", {})]
    return [(f"editor.{name}", {})]


def _shown(error: FieldError, draft: EditionDraft, language: str) -> dict[str, Any]:
    """A problem for the live preview's status line: the field and what is wrong."""
    label = " · ".join(translate(language, key, **v) for key, v in field_label(error.name, draft))
    return {
        "field": field_id(error.name),
        "line": error.line,
        "message": f"{label}: {translate(language, error.problem, **error.values)}",
    }


def _slug_of(session: Session, list_id: int) -> str:
    return get_list_by_id(session, list_id).slug


def form_page(
    request: Request,
    session: Session,
    state: WebState,
    draft: EditionDraft,
    *,
    edition: Edition | None = None,
    previous: Edition | None = None,
    errors: list[FieldError] | None = None,
    problem: Exception | None = None,
) -> Response:
    """The form, with each error next to its field and a summary linking to them."""
    images = recent_images(session)
    library = [(image, state.settings.public_url + public_path(image)) for image in images]
    base = edition or previous
    action = f"/admin/editions/{base.id if base else 0}/{'form' if edition else 'next'}"
    context = {
        "draft": draft,
        "heading_key": "editor.title_edit" if edition else "editor.title_new",
        "heading_number": edition.number if edition else draft.number,
        "edition": edition,
        "previous": previous,
        "action": action,
        "errors": {e.name: e for e in errors or ()},
        "error_list": errors or [],
        "fid": field_id,
        "label_of": lambda name: field_label(name, draft),
        "library": library,
        "problem": common.problem(problem) if problem else None,
    }
    failed = bool(errors or problem)
    return page(request, "editor.html", context, status_code=400 if failed else 200)
