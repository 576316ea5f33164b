"""``/r/<newsletter>/<number>/<key>``: the counting redirect of reach without tracking.

The address is the same for every reader of an edition (see
:mod:`dispatcher.render.reach`): it holds no recipient, the answer sets no cookie, and
only the stored edition's own links are reachable, so it cannot send anyone to an
address of a stranger's choosing. An unknown newsletter, edition or link is a 404 and
counts nothing (:mod:`dispatcher.web.errors`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse, Response

from dispatcher.office.reach import count_click
from dispatcher.render.reach import KEY_LENGTH, REDIRECT_PATH
from dispatcher.web.state import DbSession, EditionNumber

# The redirect is counted again on each click: no cache may answer in our place, and the
# page it leads to need not learn that the reader came from the newsletter's redirect.
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

router = APIRouter(include_in_schema=False)

LinkKey = Annotated[str, Path(pattern=f"^[0-9a-f]{{{KEY_LENGTH}}}$")]


@router.get(REDIRECT_PATH + "/{slug}/{number}/{key}")
def counted_link(slug: str, number: EditionNumber, key: LinkKey, session: DbSession) -> Response:
    target = count_click(session, slug, number, key)
    return RedirectResponse(target, status_code=303, headers=REDIRECT_HEADERS)
