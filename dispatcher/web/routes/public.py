"""The public pages for citizens: no login, Italian first, English with ``?lang=en``.

``/`` lists the newsletters, each with a link to subscribe and to its archive.
The other pages live in ``public_*`` modules:

- ``/iscriviti``: the sign-up form (:mod:`.public_signup`)
- ``/conferma/<token>``: double opt-in (:mod:`.public_confirm`)
- ``/u/<token>``: RFC 8058 one-click unsubscribe and the unsubscribe page (:mod:`.public_leave`)
- ``/p/<token>``: preferences (:mod:`.public_prefs`)
- ``/privacy``: the privacy notice (:mod:`.public_privacy`)
- ``/r/<newsletter>/<number>/<key>``: reach's counting redirect (:mod:`.public_reach`)

Tokens are verified in the handlers; a forged, altered or expired one raises
``InvalidTokenError``, which :mod:`dispatcher.web.errors` turns into the 400 page.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from dispatcher.web.routes import (
    public_confirm,
    public_leave,
    public_prefs,
    public_privacy,
    public_reach,
    public_signup,
)
from dispatcher.web.state import DbSession
from dispatcher.web.templating import render
from subscribers.service import newsletter_lists

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, session: DbSession) -> Response:
    return render(request, "public/home.html", {"newsletters": newsletter_lists(session)})


def install(app: FastAPI) -> None:
    """Add the public pages to ``app``."""
    app.include_router(router)
    modules = (public_signup, public_confirm, public_leave, public_prefs, public_privacy)
    for module in (*modules, public_reach):
        app.include_router(module.router)
