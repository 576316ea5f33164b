"""``/u/<token>``: leaving a list, by one click in the mail client or from the page.

RFC 8058: the mail client POSTs ``List-Unsubscribe=One-Click`` to the URL in the
``List-Unsubscribe`` header, with no cookie and no login, and must not be answered
with a redirect. Any POST with a valid token unsubscribes (the token, signed for
one person and one list, is the authority; a client that sends an odd body still
gets its reader off the list), and is answered 200 with a short page. Doing it
twice changes nothing. A GET only shows a page with a button (link checkers and
previews open links); the button's POST is recorded as ``link`` rather than
``one-click``, and its answer offers a way back in.

``/gestione-iscrizione`` explains where the personal links are: the web version of
an edition, the same for everyone, points there instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from dispatcher.office.confirmation import preferences_url
from dispatcher.web.routes.public_common import NO_STORE, WriteSession
from dispatcher.web.state import DbSession, State
from dispatcher.web.templating import render
from subscribers.consent import ACTIVE_STATUSES, find_subscription, unsubscribe
from subscribers.service import get_list_by_id
from subscribers.tokens import Purpose

PAGE_FIELD, PAGE_VALUE = "via", "page"  # what our own button sends, besides the token

router = APIRouter(include_in_schema=False)


async def unsubscribe_way(request: Request) -> str:
    """How this POST unsubscribes: ``link`` from our page's button, else ``one-click``."""
    try:
        form = await request.form()
    except HTTPException:  # a malformed body: the token alone is enough to leave
        return "one-click"
    return "link" if form.get(PAGE_FIELD) == PAGE_VALUE else "one-click"


@router.get("/u/{token}")
def leave_page(request: Request, token: str, session: DbSession, state: State) -> Response:
    subscriber_id, list_id = state.signer.verify(Purpose.UNSUBSCRIBE, token, 2)
    mailing_list = get_list_by_id(session, list_id)
    subscription = find_subscription(session, subscriber_id, list_id)
    subscribed = subscription is not None and subscription.status in ACTIVE_STATUSES
    context = {"newsletter": mailing_list, "token": token, "subscribed": subscribed,
               "field": PAGE_FIELD, "value": PAGE_VALUE}  # fmt: skip
    return render(request, "public/leave.html", context, headers=NO_STORE)


@router.post("/u/{token}")
def leave(
    request: Request,
    token: str,
    session: WriteSession,
    state: State,
    how: Annotated[str, Depends(unsubscribe_way)],
) -> Response:
    subscriber_id, list_id = state.signer.verify(Purpose.UNSUBSCRIBE, token, 2)
    unsubscribe(session, subscriber_id, list_id, how=how)
    context = {
        "newsletter": get_list_by_id(session, list_id),
        "one_click": how == "one-click",
        "preferences": preferences_url("", state.signer, subscriber_id),
    }
    return render(request, "public/left.html", context, headers=NO_STORE)


@router.get("/gestione-iscrizione")
def manage_help(request: Request) -> Response:
    return render(request, "public/manage_help.html")
