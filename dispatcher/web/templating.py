"""Server-rendered pages: one Jinja2 environment, autoescaped, with the page's language."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dispatcher.resources import web_templates_dir
from dispatcher.web.i18n import choose_language, fillable, translate

WEB_TEMPLATES = web_templates_dir()

_environment = Environment(
    loader=FileSystemLoader(WEB_TEMPLATES),
    autoescape=select_autoescape(["html", "xml"]),  # pages are .html / .xml
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the request's language; ``t`` translates, ``lang`` is the language.

    ``signup_url(slug)`` gives the sign-up form with that newsletter ticked.
    """
    language = choose_language(request)
    values = {
        "request": request,
        "lang": language,
        "t": lambda key, **kw: translate(language, key, **kw),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "user": getattr(request.state, "user", None),
        "signup_url": lambda slug: signup_url(slug, language),
        "finding": lambda kind, check: finding(language, kind, check),
        **(context or {}),
    }
    body = _environment.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    if request.query_params.get("lang") == language:
        response.set_cookie("lang", language, max_age=365 * 86400, samesite="lax")
    return response


def finding(language: str, kind: str, check: Any) -> str:
    """A preflight finding (``kind`` "error" or "warning") in ``language``.

    The catalogue's ``preflight.<kind>.<code>`` filled with the finding's params; a
    code the catalogues lack (or params that do not fill it) shows the check's own
    English message.
    """
    key = f"preflight.{kind}.{check.code}"
    if not fillable(key, check.params):
        return str(check.message)
    return translate(language, key, **check.params)


def signup_url(slug: str, language: str) -> str:
    """The sign-up form with a newsletter ticked, in the page's language."""
    return f"/iscriviti?lista={quote(slug)}&lang={language}"


def environment() -> Environment:
    """The shared environment (routers may add filters or globals at start-up)."""
    return _environment
