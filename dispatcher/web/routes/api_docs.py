"""``/api/docs``: the API explorer, served from this site only.

FastAPI's own page loads Swagger UI from a CDN, unpinned, into this origin, and
starts it with an inline script; offline it is blank. Here Swagger UI comes from
the pinned npm package ``swagger-ui-dist`` (``package-lock.json``), which ``make``
copies into ``templates/web/static/vendor/swagger_ui/``, and is started by a
static file, so the pages' ``script-src 'self'`` holds here too.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from dispatcher.web.templating import render

DOCS_PATH = "/api/docs"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH)
def api_docs(request: Request) -> Response:
    context = {"title": request.app.title, "schema_url": request.app.openapi_url}
    return render(request, "api_docs.html", context)


def install(app: FastAPI) -> None:
    """Add the explorer's page to ``app`` (created with ``docs_url=None``)."""
    app.include_router(router)
