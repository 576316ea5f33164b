"""The privacy notice shown with every sign-up, and its version.

Each sign-up records the version of the notice its form showed
(``Subscription.privacy_version``), so the office can always tell which text a
person agreed to. Changing the text means a new ``PRIVACY_VERSION`` setting; a form
loaded before the change is shown again with the new text rather than recording a
version its reader never saw.

The text is the office's to approve (it names the controller and the person's
rights under the GDPR); its paragraphs are in the catalogues (``privacy.notice_<n>``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dispatcher.office.reach import reach_newsletters
from dispatcher.web.i18n import choose_language, translate
from dispatcher.web.state import DbSession, State
from dispatcher.web.templating import render

#: The notice's paragraphs are the catalogues' privacy.notice_1 ... privacy.notice_<N>.
NOTICE_PARAGRAPHS = 5

router = APIRouter(include_in_schema=False)


def notice(language: str) -> tuple[str, ...]:
    """The notice's paragraphs in ``language`` (Italian when there is no translation)."""
    return tuple(
        translate(language, f"privacy.notice_{n}") for n in range(1, NOTICE_PARAGRAPHS + 1)
    )


@router.get("/privacy")
def privacy_page(request: Request, state: State, session: DbSession) -> Response:
    version = state.settings.web.privacy_version
    language = choose_language(request)
    paragraphs = notice(language)
    names = reach_newsletters(session)
    if names:
        # Said only while a newsletter has reach on (its `reach` setting), naming them.
        reach = translate(language, "privacy.reach", names=", ".join(names))
        paragraphs = (*paragraphs, reach)
    context = {"notice": paragraphs, "version": version}
    return render(request, "public/privacy.html", context)
