"""People: find someone by address or name, read what they received, act on their data.

Editors and operators read (see :data:`READ_PEOPLE`); every change is an admin's:
adding to a list, unsubscribing from one, suppressing, the GDPR export and erasure
(which asks first, on a page naming the person). What came from outside (the
relay's replies, bounce diagnostics, names) is escaped by the templates' autoescape.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dispatcher.office import people
from dispatcher.web.routes.admin.common import (
    actor,
    administrator,
    attempt_or_show,
    flash,
    page,
    people_reader,
    problem,
    see_other,
)
from dispatcher.web.state import DbSession, RowId, State, WebState
from subscribers.directory import MAX_QUERY, search_people

SearchText = Annotated[str, Query(max_length=MAX_QUERY)]
After = Annotated[str, Query(max_length=320)]
ListId = Annotated[int, Form(ge=1, le=2**63 - 1)]


@people_reader.get("/subscribers")
def people_page(
    request: Request, session: DbSession, q: SearchText = "", after: After = ""
) -> Response:
    found = search_people(session, q, after)
    context = {"q": q, "after": after, "people": found.people, "next_after": found.next_after}
    return page(request, "people.html", context)


@people_reader.get("/subscribers/{subscriber_id}")
def person_page(
    request: Request, session: DbSession, state: State, subscriber_id: RowId
) -> Response:
    return _person_page(request, session, state, subscriber_id)


@administrator.get("/subscribers/{subscriber_id}/export")
def export(request: Request, session: DbSession, state: State, subscriber_id: RowId) -> Response:
    keys = state.settings.all_secret_keys
    record = people.export_for(session, keys, subscriber_id, actor(request))
    headers = {
        "Content-Disposition": f'attachment; filename="subscriber-{subscriber_id}.json"',
        "Cache-Control": "no-store",
    }
    body = json.dumps(record, ensure_ascii=False, indent=2, default=str)
    return Response(body, media_type="application/json", headers=headers)


@administrator.post("/subscribers/{subscriber_id}/lists")
def add_to_list(
    request: Request,
    session: DbSession,
    state: State,
    subscriber_id: RowId,
    list_id: ListId,
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    def action() -> Response:
        keys = state.settings.all_secret_keys
        added = people.add_to_list(
            session, keys, subscriber_id, list_id, actor(request), confirmed=confirmed
        )
        flash(request, "flash.person_added", status=added.status)
        return see_other(f"/admin/subscribers/{subscriber_id}")

    return _act(request, session, state, subscriber_id, action)


@administrator.post("/subscribers/{subscriber_id}/lists/{list_id}/unsubscribe")
def unsubscribe(
    request: Request, session: DbSession, state: State, subscriber_id: RowId, list_id: RowId
) -> Response:
    def action() -> Response:
        changed = people.leave_list(session, subscriber_id, list_id, actor(request))
        flash(request, "flash.person_left" if changed else "flash.person_not_on_list")
        return see_other(f"/admin/subscribers/{subscriber_id}")

    return _act(request, session, state, subscriber_id, action)


@administrator.post("/subscribers/{subscriber_id}/suppress")
def suppress(
    request: Request,
    session: DbSession,
    state: State,
    subscriber_id: RowId,
    detail: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    def action() -> Response:
        keys = state.settings.all_secret_keys
        people.suppress_person(session, keys, subscriber_id, detail, actor(request))
        flash(request, "flash.person_suppressed")
        return see_other(f"/admin/subscribers/{subscriber_id}")

    return _act(request, session, state, subscriber_id, action)


@administrator.get("/subscribers/{subscriber_id}/erase")
def erase_page(request: Request, session: DbSession, subscriber_id: RowId) -> Response:
    person = people.get_person(session, subscriber_id)
    if person.erased_at is not None:  # nothing left to erase: say so on their page
        flash(request, "flash.person_already_erased")
        return see_other(f"/admin/subscribers/{subscriber_id}")
    return page(request, "person_erase.html", {"person": person, "mismatch": False})


@administrator.post("/subscribers/{subscriber_id}/erase")
def erase(
    request: Request,
    session: DbSession,
    state: State,
    subscriber_id: RowId,
    confirm: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    person = people.get_person(session, subscriber_id)
    if person.erased_at is not None:
        flash(request, "flash.person_already_erased")
        return see_other(f"/admin/subscribers/{subscriber_id}")
    if confirm.strip().lower() != person.email.lower():
        context = {"person": person, "mismatch": True}
        return page(request, "person_erase.html", context, status_code=400)
    done = people.erase(session, state.settings.all_secret_keys, subscriber_id, actor(request))
    flash(request, "flash.person_erased", id=subscriber_id, deliveries=done.deliveries)
    return see_other(f"/admin/subscribers/{subscriber_id}")


def _act(
    request: Request,
    session: Session,
    state: WebState,
    subscriber_id: int,
    action: Callable[[], Response],
) -> Response:
    """Run a change; if a service refuses it, the person's page again with the reason."""
    shown = functools.partial(_person_page, request, session, state, subscriber_id)
    return attempt_or_show(session, action, shown)


def _person_page(
    request: Request,
    session: Session,
    state: WebState,
    subscriber_id: int,
    error: Exception | None = None,
) -> Response:
    record = people.person_record(session, state.settings.all_secret_keys, subscriber_id)
    lists = people.list_choices(session)
    context = {
        "record": record,
        "person": record["subscriber"],
        "lists": lists,
        "list_ids": {slug: list_id for list_id, slug, _ in lists},
        "problem": problem(error) if error else None,
    }
    return page(request, "person.html", context, status_code=400 if error else 200)
