"""Errors become pages (or JSON for the API), never stack traces.

Services raise our own errors; this is the one place they turn into HTTP.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from dispatcher.errors import ContentError, NotFoundError, StateError
from dispatcher.web.security import add_headers, redact_path
from dispatcher.web.templating import render
from subscribers.errors import InvalidTokenError, SubscribersError, UnknownListError

log = logging.getLogger(__name__)

_MESSAGES = {400: "error.bad_request", 401: "error.login_required", 403: "error.forbidden",
             404: "error.not_found", 429: "error.too_many"}  # fmt: skip


def error_response(request: Request, status: int, key: str | None = None) -> Response:
    """An error page in the visitor's language, or JSON under /api/."""
    message_key = key or _MESSAGES.get(status, "error.server")
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message_key, "status": status}, status_code=status)
    return render(request, "error.html", {"message_key": message_key}, status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers that map errors to responses."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "invalid", "detail": exc.errors()}, status_code=422)
        return error_response(request, 400)

    @app.exception_handler(InvalidTokenError)
    async def invalid_token(request: Request, exc: InvalidTokenError) -> Response:
        return error_response(request, 400, "error.invalid_link")

    @app.exception_handler(NotFoundError)
    @app.exception_handler(UnknownListError)
    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(request, 404)

    @app.exception_handler(StateError)
    @app.exception_handler(ContentError)
    @app.exception_handler(SubscribersError)
    async def refused(request: Request, exc: Exception) -> Response:
        return error_response(request, 400)

    @app.exception_handler(DataError)
    async def refused_by_the_database(request: Request, exc: DataError) -> Response:
        # The database refused a value the request carried: text with a NUL character,
        # a number past a column's range, text longer than its column. That is a bad
        # request, not a fault of ours; it is logged because the check belongs earlier.
        # Only the kind is logged: the driver's message may quote the visitor's data.
        kind = type(exc.orig).__name__
        log.warning(
            "the database refused the data of %s %r (%s)", request.method, _path(request), kind
        )
        return error_response(request, 400)

    app.add_exception_handler(Exception, _unexpected)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %r", request.method, _path(request))
    response = error_response(request, 500)
    # Starlette runs this handler in its outermost middleware, outside SecurityHeaders.
    add_headers(response.headers)
    return response


def _path(request: Request) -> str:
    # Logged with %r: a path may hold line breaks (%0A) that would forge log lines.
    return redact_path(request.url.path)[:300]
