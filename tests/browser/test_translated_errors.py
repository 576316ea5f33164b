"""An editor's broken edition and the public home, read in a real browser in Italian and English.

The core's English message (and its command-line advice) never reaches the page: the
editor reads the catalogue's text with the line and field, at desk and phone widths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.office.users import create_user
from dispatcher.web import create_app
from tests.support.data import EDITION_FILE, create_newsletter
from tests.support.web import CHROMIUM, CHROMIUM_ARGS, assert_page_is_sound, serve

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
SHOTS = Path("/tmp/shots")
BROKEN = EDITION_FILE.read_text(encoding="utf-8").replace("number: 44", "numero: 44")  # line 5
SAID = {
    "it": ("Il file dell'edizione ha un errore:", "Riga 5.", "Campo «numero».", "forse intendevi"),
    "en": ("The edition file has an error:", "Line 5.", "Field “numero”.", "did you mean"),
}


@contextmanager
def browser_page() -> Iterator[Any]:
    """A Chromium page that lets axe-core in past the app's CSP (the app's own scripts too)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(bypass_csp=True)
        finally:
            browser.close()


@pytest.fixture
def office(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: sessionmaker[Session]
) -> tuple[Settings, sessionmaker[Session]]:
    with pg_sessions.begin() as session:
        create_newsletter(session)
        create_user(session, "redattrice", PASSWORD, "editor")
    settings = make_settings(database_url=pg_url, public_url="https://newsletter.example.org")
    return settings, pg_sessions


@pytest.mark.parametrize("width", [1280, 375])
def test_a_broken_edition_is_explained_in_the_readers_language(
    office: tuple[Settings, sessionmaker[Session]], width: int
) -> None:
    settings, sessions = office
    SHOTS.mkdir(exist_ok=True)
    with serve(create_app(settings, sessions=sessions)) as base, browser_page() as opened:
        page: Any = opened
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/?lang=it")
        assert page.title() == "Newsletter della Città metropolitana di Torino — Iscriviti"
        assert_page_is_sound(page)
        page.goto(f"{base}/login?lang=it")
        page.fill("#username", "redattrice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/admin")
        for language, expected in SAID.items():
            page.goto(f"{base}/admin/editions/new?lang={language}")
            page.fill("#source", BROKEN)
            page.click("form[enctype] button[type=submit]")
            page.wait_for_selector("#problem")
            said = page.inner_text("#problem")
            assert all(part in said for part in expected), said
            assert "--" not in said
            if language == "it":
                assert "unknown field" not in said and "did you mean" not in said
            page.screenshot(path=str(SHOTS / f"error-{language}-{width}.png"), full_page=True)
            assert_page_is_sound(page)
