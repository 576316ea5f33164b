"""Preview: the edition as a sample recipient gets it, at phone and desktop widths.

The page shows the HTML part in two sandboxed frames (375 and 640 px wide) and
the plain-text part under them. The frames load the filled HTML from their own
route, answered with a Content-Security-Policy that lets no script run.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from dispatcher.models import Edition
from dispatcher.office.edition_store import get_edition
from dispatcher.sends import variants
from dispatcher.sends.compose import PREVIEW_RECIPIENT, Preview, preview
from dispatcher.web.routes.admin.common import page, viewer
from dispatcher.web.state import DbSession, RowId, State, WebState

#: Widths shown side by side: a common phone, and the usual email column.
WIDTHS = (("phone", 375), ("desktop", 640))
# Email HTML needs inline styles and remote pictures, and nothing else.
_FRAME_POLICY = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline' https:; "
    "font-src https: data:; frame-ancestors 'self'"
)


def _shown(session: Session, edition: Edition, state: WebState, language: str | None) -> Preview:
    """The preview in Italian, or in another language the edition carries (``?lingua=en``)."""
    chosen = [v for v in variants.whole_variants(session, edition.id) if v.key == language]
    variant = chosen[0] if chosen else None
    return preview(session, edition, state.settings, state.signer, variant)


@viewer.get("/editions/{edition_id}/preview")
def preview_page(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    lingua: str | None = None,
) -> Response:
    edition = get_edition(session, edition_id)
    shown = _shown(session, edition, state, lingua)
    languages = [v.key for v in variants.whole_variants(session, edition.id)]
    context = {
        "languages": languages,
        "language": lingua if lingua in languages else None,
        "edition": edition,
        "widths": WIDTHS,
        "text": shown.text,
        "html_bytes": len(shown.html.encode("utf-8")),
        "recipient": PREVIEW_RECIPIENT,
    }
    return page(request, "preview.html", context)


@viewer.get("/editions/{edition_id}/preview/html")
def preview_html(
    request: Request,
    session: DbSession,
    state: State,
    edition_id: RowId,
    lingua: str | None = None,
) -> Response:
    edition = get_edition(session, edition_id)
    shown = _shown(session, edition, state, lingua)
    headers = {"Content-Security-Policy": _FRAME_POLICY, "Cache-Control": "no-store"}
    return HTMLResponse(shown.html, headers=headers)
