"""A subscriber chooses sections and a language on the preferences page (issue 14).

The page lists the sections the newsletter's settings define, says what choosing them
does, and what it stores is what the next send reads: the reader, from the link in a
mail, at desktop and phone widths.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.web.app import create_app
from subscribers.models import Subscriber
from subscribers.tokens import Purpose, Signer
from tests.conftest import SECRET
from tests.support.data import add_subscribers
from tests.support.web import assert_page_is_sound, browser_page, serve

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_reader_chooses_sections_and_english(
    smtp_settings: Settings, pg_sessions: sessionmaker[Session], newsletter: int, width: int
) -> None:
    with pg_sessions.begin() as session:
        reader = add_subscribers(session, newsletter, 1)[0]
    token = Signer((SECRET,)).sign(Purpose.PREFERENCES, reader)
    app = create_app(smtp_settings, sessions=pg_sessions)
    SHOTS.mkdir(exist_ok=True)
    with serve(app) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
        page.set_extra_http_headers({"Accept-Language": "it-IT,it;q=0.9"})  # type: ignore[attr-defined]
        page.goto(f"{base}/p/{token}")  # type: ignore[attr-defined]
        assert_page_is_sound(page)
        text = page.text_content("form")  # type: ignore[attr-defined]
        assert "la copertina, gli articoli in evidenza" in text
        assert "Se non ne scegli nessuna riceverai tutti gli articoli" in text
        for label in ("Ambiente", "Cultura e turismo", "Territorio, strade e trasporti"):
            assert page.is_visible(f"label:has-text('{label}')")  # type: ignore[attr-defined]
        page.screenshot(path=str(SHOTS / f"prefs-sections-{width}.png"), full_page=True)  # type: ignore[attr-defined]
        page.check("label:has-text('Ambiente')")  # type: ignore[attr-defined]
        page.check("label:has-text('Lavoro e sviluppo economico')")  # type: ignore[attr-defined]
        page.check("#language-en")  # type: ignore[attr-defined]
        page.click("form button[type=submit]")  # type: ignore[attr-defined]
        page.wait_for_selector("text=Preferenze salvate")  # type: ignore[attr-defined]
        assert_page_is_sound(page)
        assert page.is_checked("label:has-text('Ambiente')")  # type: ignore[attr-defined]
        page.screenshot(path=str(SHOTS / f"prefs-saved-{width}.png"), full_page=True)  # type: ignore[attr-defined]
        page.goto(f"{base}/p/{token}?lang=en")  # type: ignore[attr-defined]
        assert page.is_visible("label:has-text('Environment')")  # type: ignore[attr-defined]
        assert_page_is_sound(page)
    with pg_sessions() as session:
        person = session.get_one(Subscriber, reader)
        assert (person.language, person.attributes["sections"]) == ("en", ["ambiente", "lavoro"])


@pytest.mark.parametrize("width", [1280, 375])
def test_the_sign_up_form_offers_the_sections_folded_away(
    smtp_settings: Settings, pg_sessions: sessionmaker[Session], newsletter: int, width: int
) -> None:
    app = create_app(smtp_settings, sessions=pg_sessions)
    with serve(app) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
        page.set_extra_http_headers({"Accept-Language": "it-IT,it;q=0.9"})  # type: ignore[attr-defined]
        page.goto(f"{base}/iscriviti")  # type: ignore[attr-defined]
        assert not page.is_visible("label:has-text('Ambiente')")  # type: ignore[attr-defined]
        assert_page_is_sound(page)
        page.click("#sections-summary")  # type: ignore[attr-defined]
        assert page.is_visible("label:has-text('Ambiente')")  # type: ignore[attr-defined]
        assert_page_is_sound(page)
        page.screenshot(path=str(SHOTS / f"signup-sections-{width}.png"), full_page=True)  # type: ignore[attr-defined]
