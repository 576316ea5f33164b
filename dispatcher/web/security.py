"""Security headers on every answer: no content sniffing, no framing by other sites.

A pure ASGI middleware (no ``BaseHTTPMiddleware``: it would buffer streamed answers
and run background tasks, such as confirmation mails, inside the response) that adds
headers a route did not set itself:

- ``X-Content-Type-Options: nosniff``: a browser must not run an uploaded picture or
  a plain-text answer as script because its bytes look like HTML.
- ``X-Frame-Options: DENY`` and ``Content-Security-Policy: frame-ancestors 'none'``:
  no other site may show the login form, the admin or a personal page (``/u/``,
  ``/p/``, ``/conferma/``) in a frame, where a hidden button could be clicked for the
  visitor. A route that is meant to be framed states its own ``frame-ancestors``
  (the admin's preview, framed by the admin itself) and is left alone.
- ``Referrer-Policy: same-origin``: addresses of this site, which may hold a personal
  token, are not sent to other sites; pages with tokens already say ``no-referrer``.
- ``Content-Security-Policy: script-src 'self'; object-src 'none'; base-uri 'self'``:
  only script files served by this site run, never inline script or another site's,
  so text that slipped into a page unescaped cannot run as script. A route whose own
  policy governs scripts (``script-src``, or ``default-src``) keeps it.

The personal tokens in ``/u/``, ``/p/`` and ``/conferma/`` addresses never expire (the
first two) and act for their person: :func:`redact_path` takes them out of what is
logged, and :class:`RedactTokens` out of uvicorn's access log.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
FRAME_DENIED = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
SCRIPT_POLICY = "script-src 'self'; object-src 'none'; base-uri 'self'"


class SecurityHeaders:
    """ASGI middleware adding :data:`DEFAULT_HEADERS` and, unless a route set its own
    ``frame-ancestors``, :data:`FRAME_DENIED` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_headers(headers: MutableHeaders) -> None:
    """Add the security headers a response lacks (a route's own values win)."""
    for name, value in DEFAULT_HEADERS.items():
        headers.setdefault(name, value)
    policy = headers.get("content-security-policy")
    parts = [policy] if policy else []
    if policy is None or not ("script-src" in policy or "default-src" in policy):
        parts.append(SCRIPT_POLICY)
    if policy is None or "frame-ancestors" not in policy:
        # Unless the route chose who may frame it, nobody may.
        headers.setdefault("X-Frame-Options", FRAME_DENIED["X-Frame-Options"])
        parts.append(FRAME_DENIED["Content-Security-Policy"])
    headers["Content-Security-Policy"] = "; ".join(parts)


_TOKEN_PATH = re.compile(r"^(/(?:u|p|conferma)/)[^/?#]+")


def redact_path(path: str) -> str:
    """``path`` with the personal token of a ``/u/``, ``/p/`` or ``/conferma/`` page hidden.

    :param path: a request path, possibly with its query
    :returns: the path safe to log
    """
    return _TOKEN_PATH.sub(r"\1<token>", path)


class RedactTokens(logging.Filter):
    """Hides personal tokens in uvicorn's access log lines (their third argument is the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


class HeadAsGet:
    """ASGI middleware answering ``HEAD`` as ``GET`` without the body (RFC 9110 9.3.2).

    FastAPI's GET routes do not answer HEAD (405), which link checkers and monitors
    use; this serves every GET page's headers, its ``Content-Length`` included.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def install(app: FastAPI) -> None:
    """Wrap ``app`` in :class:`HeadAsGet` and :class:`SecurityHeaders`, outside the rest."""
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
