"""Lists: every list's figures, a new list, and a newsletter's settings with what they undo.

Roles, as a public office divides the work: anyone logged in reads the lists, their
counts and their settings (editors and approvers need them to write and schedule;
the counts name nobody). Creating a list and changing its settings is an admin's:
From, Reply-To and the footer speak for the body in law, and a change ends the
approval of every edition approved under the old settings, which the confirmation
step counts and names before anything is saved.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from dispatcher.editions.newsletter import NewsletterSettings
from dispatcher.errors import EditionFileError, InputError
from dispatcher.office import list_settings
from dispatcher.office.list_figures import list_figures
from dispatcher.web.routes.admin.common import (
    actor,
    administrator,
    attempt_or_show,
    flash,
    page,
    problem,
    see_other,
    viewer,
)
from dispatcher.web.routes.admin.figures import install_charts
from dispatcher.web.state import DbSession
from subscribers.models import MailingList
from subscribers.orm import utcnow
from subscribers.service import get_list

MAX_VALUE = 2000  # characters in one field of the settings form
MAX_FIELDS = 40
Slug = Annotated[str, Form(max_length=64)]
Name = Annotated[str, Form(max_length=200)]

install_charts()  # the pages use the figures' filters and chart helpers


async def form_values(request: Request) -> dict[str, str]:
    """The submitted form's text fields (files and the CSRF token left out), bounded.

    :raises InputError: for an over-long value or too many fields (400)
    """
    form = await request.form()
    if len(form) > MAX_FIELDS:
        raise InputError("the form has too many fields")
    values = {}
    for key, value in form.items():
        if isinstance(value, str) and key != "csrf_token":
            if len(value) > MAX_VALUE:
                raise InputError(f"{key}: longer than {MAX_VALUE} characters")
            values[key] = value
    return values


FormValues = Annotated[dict[str, str], Depends(form_values)]


@viewer.get("/lists")
def lists_page(request: Request, session: DbSession) -> Response:
    context = {"figures": list_figures(session, utcnow()), "slug": "", "name": ""}
    return page(request, "lists.html", context)


@administrator.post("/lists")
def create(request: Request, session: DbSession, slug: Slug = "", name: Name = "") -> Response:
    def action() -> Response:
        created = list_settings.create_list(session, slug, name, actor(request))
        flash(request, "flash.list_created", slug=created.slug)
        return see_other(f"/admin/lists/{created.slug}/settings")

    def shown(error: Exception) -> Response:
        context: dict[str, Any] = {"figures": list_figures(session, utcnow()), "slug": slug}
        context |= {"name": name, "problem": problem(error)}
        return page(request, "lists.html", context, status_code=400)

    return attempt_or_show(session, action, shown)


@viewer.get("/lists/{slug}/settings")
def settings_page(request: Request, session: DbSession, slug: str) -> Response:
    mailing_list = get_list(session, slug)
    return _form(request, mailing_list, list_settings.form_defaults(mailing_list))


@administrator.post("/lists/{slug}/settings")
def check(request: Request, session: DbSession, slug: str, values: FormValues) -> Response:
    """The settings checked; if they are valid, the confirmation naming what they undo."""
    mailing_list = get_list(session, slug)
    try:
        new = list_settings.settings_from_form(mailing_list, values)
    except EditionFileError as exc:
        return _form(request, mailing_list, values, exc)
    impact = list_settings.settings_impact(session, mailing_list, new)
    context = {
        "newsletter": mailing_list,
        "impact": impact,
        "settings_json": json.dumps(new.to_dict(), ensure_ascii=False),
        "version": list_settings.settings_version(mailing_list),
    }
    return page(request, "list_settings_confirm.html", context)


@administrator.post("/lists/{slug}/settings/save")
def save(
    request: Request,
    session: DbSession,
    slug: str,
    settings_json: Annotated[str, Form(max_length=120_000)],
    version: Annotated[str, Form(max_length=64)],
) -> Response:
    mailing_list = get_list(session, slug)
    new = _settings_of(mailing_list, settings_json)

    def action() -> Response:
        impact = list_settings.save_settings(session, mailing_list, new, version, actor(request))
        flash(request, "flash.list_settings_saved", count=len(impact.affected))
        return see_other(f"/admin/lists/{slug}")

    shown = functools.partial(_form, request, mailing_list, _values_of(new))
    return attempt_or_show(session, action, shown)


def _settings_of(mailing_list: MailingList, settings_json: str) -> NewsletterSettings:
    """The confirmed settings, checked again (the page could have been altered).

    :raises InputError: if they are not the JSON the confirmation page wrote (400)
    :raises EditionFileError: if they do not pass the checks (400)
    """
    try:
        data = json.loads(settings_json)
    except ValueError as exc:
        raise InputError("settings_json: not the confirmation page's settings") from exc
    if not isinstance(data, dict) or data.get("slug") != mailing_list.slug:
        raise InputError("settings_json: not the settings of this list")
    return NewsletterSettings.from_dict(data, source="form")


def _values_of(new: NewsletterSettings) -> dict[str, str]:
    shown = MailingList(slug=new.slug, name=new.name, settings=new.to_dict())
    return list_settings.form_defaults(shown)


def _form(
    request: Request,
    mailing_list: MailingList,
    values: dict[str, str],
    error: Exception | None = None,
) -> Response:
    field = error.field if isinstance(error, EditionFileError) else None
    context: dict[str, Any] = {
        "newsletter": mailing_list,
        "values": values,
        "colour_fields": list_settings.COLOUR_FIELDS,
        "error_field": field,
        "error_text": error.problem if isinstance(error, EditionFileError) else "",
        "problem": problem(error) if error and not field else None,
    }
    return page(request, "list_settings.html", context, status_code=400 if error else 200)
