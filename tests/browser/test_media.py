"""The media library in Chromium, as an editor, on a desktop and on a phone.

The editor uploads a picture, finds it by a word of its alt text, copies its address
with the button (and reads it as text), deletes a picture nothing uses, and is told
which edition uses the one they may not delete. Every page passes axe and fits the
screen (assert_page_is_sound).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.models import Image
from dispatcher.office.edition_store import read_source, update_edition
from dispatcher.office.images import public_path, store_image
from dispatcher.office.users import create_user
from dispatcher.web import create_app
from tests.support.data import EDITION_FILE, add_example_edition, create_newsletter
from tests.support.web import assert_page_is_sound, browser_page, serve

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
SHOTS = Path("/tmp/shots")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
COVER = "https://www.cittametropolitana.torino.it/cms/risorse/cronache/2024/44/panettone-futuri-chef.jpg"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    return make_settings(database_url=pg_url, public_url="https://newsletter.example.org")


@pytest.fixture
def office(pg_sessions: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    """An editor, an edition whose cover is a picture of the library, and a spare picture."""
    with pg_sessions.begin() as session:
        create_user(session, "redazione", PASSWORD, "editor")
        create_newsletter(session)
        edition_id = add_example_edition(session, settings)
        cover = store_image(session, PNG, "panettoni.png", "Panettoni sfornati", "redazione")
        store_image(session, PNG, "vecchia-foto.png", "Una foto mai usata", "redazione")
        source = read_source(EDITION_FILE).replace(
            COVER, settings.public_url + public_path(session.get_one(Image, cover.id))
        )
        update_edition(session, edition_id, source, str(EDITION_FILE), settings)
    return pg_sessions


def sound(page: Any, name: str) -> None:
    assert_page_is_sound(page)
    SHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SHOTS / f"media-{name}-{width}.png"), full_page=True)


def row(page: Any, filename: str) -> Any:
    return page.locator("#media tr", has_text=filename)


@pytest.mark.parametrize("width", [1280, 375])
def test_an_editor_finds_copies_and_deletes_pictures(
    settings: Settings, office: sessionmaker[Session], tmp_path: Path, width: int
) -> None:
    upload = tmp_path / "Fiaccola Giochi.png"
    upload.write_bytes(PNG)
    with serve(create_app(settings, sessions=office)) as base, browser_page() as opened:
        page: Any = opened
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/login?lang=it")
        page.fill("#username", "redazione")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.click("nav >> text=Immagini")
        page.wait_for_url(f"{base}/admin/images")
        page.set_input_files("#image-file", str(upload))
        page.fill("#image-alt", "La Fiaccola dei Giochi universitari")
        page.click("text=Carica l'immagine >> nth=-1")
        assert "Immagine caricata" in page.inner_text("main")
        assert page.locator("#media tr[data-image]").count() == 3
        sound(page, "library")

        page.fill("#media-q", "FIACCOLA")
        page.click("form[role=search] button")
        assert page.locator("#media tr[data-image]").count() == 1
        address = row(page, "fiaccola-giochi.png").locator("code").inner_text()
        assert address.startswith("https://newsletter.example.org/images/")
        row(page, "fiaccola-giochi.png").locator("button[data-copy]").click()
        assert page.evaluate("navigator.clipboard.readText()") == address
        assert "Indirizzo copiato" in page.inner_text("#copy-status")
        sound(page, "found")

        page.goto(f"{base}/admin/images")
        row(page, "vecchia-foto.png").locator("text=Elimina").click()
        assert "vecchia-foto.png eliminata" in page.inner_text("main")
        assert row(page, "vecchia-foto.png").count() == 0
        sound(page, "deleted")

        row(page, "panettoni.png").locator("text=Elimina").click()
        problem = page.inner_text("#problem")
        assert "la usano Cronache da Palazzo Cisterna n. 44" in problem
        assert row(page, "panettoni.png").count() == 1
        sound(page, "refused")
