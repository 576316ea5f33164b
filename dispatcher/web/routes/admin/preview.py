"""Preview: the edition as a sample recipient gets it, at phone and desktop widths.

The page shows the HTML part in two sandboxed frames (375 and 640 px wide) and
the plain-text part under them. The frames load the filled HTML from their own
route, answered with a Content-Security-Policy that lets no script run.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from dispatcher.office.edition_store import get_edition
from dispatcher.sends.compose import PREVIEW_RECIPIENT, preview
from dispatcher.web.routes.admin.common import page, viewer
from dispatcher.web.state import DbSession, RowId, State

#: Widths shown side by side: a common phone, and the usual email column.
WIDTHS = (("phone", 375), ("desktop", 640))
# Email HTML needs inline styles and remote pictures, and nothing else.
_FRAME_POLICY = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline' https:; "
    "font-src https: data:; frame-ancestors 'self'"
)


@viewer.get("/editions/{edition_id}/preview")
def preview_page(request: Request, session: DbSession, state: State, edition_id: RowId) -> Response:
    edition = get_edition(session, edition_id)
    shown = preview(session, edition, state.settings, state.signer)
    context = {
        "edition": edition,
        "widths": WIDTHS,
        "text": shown.text,
        "html_bytes": len(shown.html.encode("utf-8")),
        "recipient": PREVIEW_RECIPIENT,
    }
    return page(request, "preview.html", context)


@viewer.get("/editions/{edition_id}/preview/html")
def preview_html(request: Request, session: DbSession, state: State, edition_id: RowId) -> Response:
    edition = get_edition(session, edition_id)
    shown = preview(session, edition, state.settings, state.signer)
    headers = {"Content-Security-Policy": _FRAME_POLICY, "Cache-Control": "no-store"}
    return HTMLResponse(shown.html, headers=headers)
