"""Errors become pages (or JSON for the API), never stack traces.

Services raise the project's one tree (:mod:`dispatcher.errors`); this is the one
place it turns into HTTP, so routes do not wrap calls only to translate them:

- ``LoginRequired``: the login form for a GET, else 401 (JSON under /api/);
- ``Forbidden``, ``CsrfFailed`` (any other ``AccessError``): 403;
- ``InvalidTokenError``: 400, "this link does not work";
- ``NotFoundError``, ``UnknownListError``: 404;
- ``StateError``, ``ContentError``, ``InputError``, ``SubscribersError``: 400, the
  request asked for something the services refused;
- anything else: 500, logged, a fault of ours (a template, the relay).

Starlette picks the handler of the nearest class in the exception's MRO, so the
specific entries win over the general ones. A route that shows its form again with the
error next to it catches the error itself, and shows :func:`explain`'s words for it:
the text of the error's ``key`` in the page's language, filled with its ``params``
(never the English message, which may give command-line advice); an error without a
key, or with one the catalogues lack, shows a general sentence and its English message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from dispatcher.errors import (
    AccessError,
    ContentError,
    InputError,
    InvalidTokenError,
    NewsletterError,
    NotFoundError,
    StateError,
    SubscribersError,
    UnknownListError,
)
from dispatcher.office.scheduling import DEFAULT_ZONE, to_local
from dispatcher.web.auth import LoginRequired, StepRequired
from dispatcher.web.i18n import fillable
from dispatcher.web.security import add_headers, redact_path
from dispatcher.web.templating import render

log = logging.getLogger(__name__)

_MESSAGES = {400: "error.bad_request", 401: "error.login_required", 403: "error.forbidden",
             404: "error.not_found", 429: "error.too_many"}  # fmt: skip


def error_response(
    request: Request, status: int, key: str | None = None, fields: Sequence[str] = ()
) -> Response:
    """An error page in the visitor's language, or JSON under /api/.

    :param fields: the names of the request's fields at fault, shown on the page
    """
    message_key = key or _MESSAGES.get(status, "error.server")
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message_key, "status": status}, status_code=status)
    context = {"message_key": message_key, "fields": ", ".join(fields)}
    return render(request, "error.html", context, status_code=status)


def explain(exc: Exception, general: str = "problem.other") -> dict[str, Any]:
    """What a page says about a refused action: ``{"key", "values", "detail", "where", "intro"}``.

    The template shows ``t(key, **values)``, then ``detail`` when there is one. An
    error whose ``key`` has a text in the catalogues (and params for all its
    placeholders) gives that key and its params (times on the office's clock) and no
    detail; any other gives ``general`` with the error's own English message as the
    detail. ``where`` is the file, line and field an edition file's error points at;
    ``intro`` (None here) is a sentence a page may put before the key's text.
    """
    where = {
        "file": getattr(exc, "path", None),
        "line": getattr(exc, "line", None),
        "field": getattr(exc, "field", None),
    }
    if isinstance(exc, NewsletterError) and fillable(exc.key, exc.params):
        values = {name: _shown(value) for name, value in exc.params.items()}
        return {"key": exc.key, "values": values, "detail": "", "where": where, "intro": None}
    return {"key": general, "values": {}, "detail": str(exc), "where": where, "intro": None}


def _shown(value: object) -> object:
    if isinstance(value, dt.datetime):
        return to_local(value, DEFAULT_ZONE).strftime("%d/%m/%Y %H:%M")
    return value


#: Each branch of the exception tree and the status it answers with (and the message, when
#: the status's own would mislead). Starlette picks the nearest class in the raised one's MRO.
_ANSWERS: tuple[tuple[type[Exception], int, str | None], ...] = (
    (InvalidTokenError, 400, "error.invalid_link"),
    (NotFoundError, 404, None),
    (UnknownListError, 404, None),
    (StateError, 400, None),
    (ContentError, 400, None),
    (InputError, 400, None),
    (SubscribersError, 400, None),
    (AccessError, 403, None),
)


def install(app: FastAPI) -> None:
    """Register the handlers that map errors to responses: the web's one translation."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for kind, status, key in _ANSWERS:
        app.add_exception_handler(kind, _answer(status, key))
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StepRequired, _step_required)
    app.add_exception_handler(DataError, _refused_by_the_database)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(Exception, _unexpected)


def _answer(status: int, key: str | None) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return error_response(request, status, key)

    return handler


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(request, status)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # registered for it alone
        return await _unexpected(request, exc)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "invalid", "detail": exc.errors()}, status_code=422)
    return error_response(request, 400, fields=_fields_of(exc))


async def _refused_by_the_database(request: Request, exc: Exception) -> Response:
    # The database refused a value the request carried: text with a NUL character,
    # a number past a column's range, text longer than its column. That is a bad
    # request, not a fault of ours; it is logged because the check belongs earlier.
    # Only the kind is logged: the driver's message may quote the visitor's data.
    kind = type(getattr(exc, "orig", exc)).__name__
    log.warning("the database refused the data of %s %r (%s)", request.method, _path(request), kind)
    return error_response(request, 400)


async def _out_of_range(request: Request, exc: Exception) -> Response:
    # SQLite's driver refuses an integer past 64 bits with OverflowError (PostgreSQL's
    # with a DataError, above): a number the request carried that no column can hold.
    log.warning("a number out of range in %s %r", request.method, _path(request))
    return error_response(request, 400)


def _fields_of(exc: RequestValidationError) -> list[str]:
    """The names of the fields that did not validate (``edition_id``, not ``body``)."""
    names = [str(error["loc"][-1]) for error in exc.errors() if error.get("loc")]
    return list(dict.fromkeys(names))


async def _login_required(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "login required"}, status_code=401)
    if request.method != "GET":
        # A form sent after the session ended: a page that says so. A redirect to the
        # login form would lose the form anyway, and a browser must never see JSON here.
        return error_response(request, 401)
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(f"/login?next={target}", status_code=303)


async def _step_required(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/") or not isinstance(exc, StepRequired):
        return error_response(request, 403)
    return RedirectResponse(exc.location, status_code=303)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %r", request.method, _path(request))
    response = error_response(request, 500)
    # Starlette runs this handler in its outermost middleware, outside SecurityHeaders.
    add_headers(response.headers)
    return response


def _path(request: Request) -> str:
    # Logged with %r: a path may hold line breaks (%0A) that would forge log lines.
    return redact_path(request.url.path)[:300]
